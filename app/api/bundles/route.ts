import { jsonRoute } from "@/lib/server/action";
import { loadBundles } from "@/lib/server/queries";

export const dynamic = "force-dynamic";

export async function GET(request: Request) {
  const url = new URL(request.url);
  const environment = url.searchParams.get("environment") ?? "";
  const page = Math.max(1, Number(url.searchParams.get("page") ?? 1) || 1);
  return jsonRoute(() => loadBundles(environment, page, url.searchParams.get("refresh") === "1"), "listing bundles");
}
