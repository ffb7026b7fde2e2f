import { describeAwsError } from "@/lib/aws/errors";
import { loadBundles } from "@/lib/server/queries";

export const dynamic = "force-dynamic";

export async function GET(request: Request) {
  const url = new URL(request.url);
  const environment = url.searchParams.get("environment") ?? "";
  const page = Math.max(1, Number(url.searchParams.get("page") ?? 1) || 1);
  try {
    return Response.json(await loadBundles(environment, page, url.searchParams.get("refresh") === "1"));
  } catch (error) {
    const name = (error as Error).name;
    const message = name === "ConfigError" || name === "UserError" ? (error as Error).message : describeAwsError(error, "listing bundles");
    return Response.json({ error: message }, { status: name === "ConfigError" ? 404 : 502 });
  }
}
