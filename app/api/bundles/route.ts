import { userFacingMessage } from "@/lib/server/action";
import { loadBundles } from "@/lib/server/queries";
import { parseBundlesQuery } from "@/lib/server/query-params";

export const dynamic = "force-dynamic";

export async function GET(request: Request) {
  const query = parseBundlesQuery(new URL(request.url).searchParams);
  if (!query.ok) return Response.json({ error: query.error }, { status: 400 });
  const { environment, page, refresh } = query.value;
  try {
    return Response.json(await loadBundles(environment, page, refresh));
  } catch (error) {
    const configProblem = (error as Error).name === "ConfigError";
    return Response.json({ error: userFacingMessage(error, "listing bundles") }, { status: configProblem ? 404 : 502 });
  }
}
