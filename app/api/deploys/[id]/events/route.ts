import { jsonRoute } from "@/lib/server/action";
import { InvalidInputError, NotFoundError } from "@/lib/errors";
import { deployEventStream } from "@/lib/deploy/event-stream";
import { getDeckhand } from "@/lib/server/deckhand";
import { loadDeploy } from "@/lib/server/queries";
import { parseDeployId, parseEventCursor } from "@/lib/server/query-params";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/**
 * The deploy page's live stream (Server-Sent Events): output lines and deploy changes as they are
 * stored. Resumes after Last-Event-ID (a reconnect) or ?after= (the last chunk id the page has).
 * The panel token is checked by proxy.ts (as ?token= here: EventSource cannot send headers).
 */
export async function GET(request: Request, { params }: { params: Promise<{ id: string }> }) {
  const raw = (await params).id;
  const id = parseDeployId(raw);
  const cursor = parseEventCursor(request.headers.get("last-event-id"), new URL(request.url).searchParams.get("after"));
  if (!id.ok || !cursor.ok) return jsonRoute(() => Promise.reject(new InvalidInputError(!id.ok ? id.error : (cursor as { error: string }).error)));
  const { db } = await getDeckhand();
  if (!(await db.deploy.findUnique({ where: { id: id.value }, select: { id: true } }))) {
    return jsonRoute(() => Promise.reject(new NotFoundError(`No deploy ${id.value}.`)));
  }
  const stream = deployEventStream({
    db,
    deployId: id.value,
    after: cursor.value,
    signal: request.signal,
    // The deploy without output: output goes in its own events.
    loadState: () => loadDeploy(id.value, { liveLimit: 0 }),
  });
  return new Response(stream, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    },
  });
}
