import { InvalidInputError } from "@/lib/errors";
import { jsonRoute } from "@/lib/server/action";
import { loadBundles } from "@/lib/server/queries";
import { parseBundlesQuery } from "@/lib/server/query-params";

export const dynamic = "force-dynamic";

export async function GET(request: Request) {
  return jsonRoute(async () => {
    const query = parseBundlesQuery(new URL(request.url).searchParams);
    if (!query.ok) throw new InvalidInputError(query.error);
    return loadBundles(query.value.environment, query.value.page, query.value.refresh);
  }, "listing bundles");
}
