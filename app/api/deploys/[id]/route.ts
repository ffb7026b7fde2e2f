import { InvalidInputError, NotFoundError } from "@/lib/errors";
import { jsonRoute } from "@/lib/server/action";
import { loadDeploy } from "@/lib/server/queries";
import { parseDeployId } from "@/lib/server/query-params";

export const dynamic = "force-dynamic";

export async function GET(_request: Request, { params }: { params: Promise<{ id: string }> }) {
  const raw = (await params).id;
  return jsonRoute(async () => {
    const id = parseDeployId(raw);
    if (!id.ok) throw new InvalidInputError(id.error);
    return (await loadDeploy(id.value)) ?? Promise.reject(new NotFoundError(`No deploy ${id.value}.`));
  }, "loading the deploy");
}
