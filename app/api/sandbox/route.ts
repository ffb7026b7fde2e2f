import { jsonRoute } from "@/lib/server/action";
import { sandboxState } from "@/lib/server/sandbox-control";

export const dynamic = "force-dynamic";

export async function GET() {
  return jsonRoute(() => sandboxState(), "reading the sandbox");
}
