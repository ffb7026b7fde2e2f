import { sandboxState } from "@/lib/server/sandbox-control";

export const dynamic = "force-dynamic";

export async function GET() {
  try {
    return Response.json(await sandboxState());
  } catch (error) {
    return Response.json({ error: (error as Error).message }, { status: 503 });
  }
}
