import { jsonRoute } from "@/lib/server/action";
import { loadOverview } from "@/lib/server/queries";

export const dynamic = "force-dynamic";

export async function GET() {
  return jsonRoute(() => loadOverview(), "loading the dashboard");
}
