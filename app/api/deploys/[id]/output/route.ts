import { InvalidInputError, NotFoundError } from "@/lib/errors";
import { outputPageBefore } from "@/lib/history/output-pages";
import { jsonRoute } from "@/lib/server/action";
import { getDeckhand } from "@/lib/server/deckhand";
import { parseDeployId, parseOutputPageQuery } from "@/lib/server/query-params";

export const dynamic = "force-dynamic";

/** One page of a host run's live output, older than chunk `before`: /api/deploys/[id]/output?hostRun=&before=&limit= */
export async function GET(request: Request, { params }: { params: Promise<{ id: string }> }) {
  const raw = (await params).id;
  return jsonRoute(async () => {
    const id = parseDeployId(raw);
    if (!id.ok) throw new InvalidInputError(id.error);
    const query = parseOutputPageQuery(new URL(request.url).searchParams);
    if (!query.ok) throw new InvalidInputError(query.error);
    const { db } = await getDeckhand();
    const { hostRun, before, limit } = query.value;
    const page = await outputPageBefore(db, id.value, hostRun, before, limit);
    if (!page) throw new NotFoundError(`Deploy ${id.value} has no host run ${hostRun}.`);
    return { hostRunId: hostRun, hasOlder: page.hasOlder, chunks: page.chunks.map((c) => ({ id: c.id, stream: c.stream, text: c.text, at: c.at.toISOString() })) };
  }, "loading output");
}
