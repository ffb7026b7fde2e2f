import { NotFoundError } from "@/lib/errors";
import { jsonRoute } from "@/lib/server/action";
import { loadDeploy } from "@/lib/server/queries";

export const dynamic = "force-dynamic";

export async function GET(_request: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return jsonRoute(async () => (await loadDeploy(id)) ?? Promise.reject(new NotFoundError(`No deploy ${id}.`)), "loading the deploy");
}
