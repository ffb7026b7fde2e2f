import { jsonRoute } from "@/lib/server/action";
import { loadHistory } from "@/lib/server/queries";

export const dynamic = "force-dynamic";

export async function GET() {
  return jsonRoute(() => loadHistory(), "loading the history");
}
