import { loadDeploy } from "@/lib/server/queries";
import { parseDeployId } from "@/lib/server/query-params";

export const dynamic = "force-dynamic";

export async function GET(_request: Request, { params }: { params: Promise<{ id: string }> }) {
  const id = parseDeployId((await params).id);
  if (!id.ok) return Response.json({ error: id.error }, { status: 400 });
  const deploy = await loadDeploy(id.value);
  return deploy ? Response.json(deploy) : Response.json({ error: "No such deploy" }, { status: 404 });
}
