import { loadDeploy } from "@/lib/server/queries";

export const dynamic = "force-dynamic";

export async function GET(_request: Request, { params }: { params: Promise<{ id: string }> }) {
  const deploy = await loadDeploy((await params).id);
  return deploy ? Response.json(deploy) : Response.json({ error: "No such deploy" }, { status: 404 });
}
