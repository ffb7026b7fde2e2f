// Runs before every route, page, asset and server action: the Host check (DNS rebinding) and the
// per-launch token for API routes. Server actions check their token in lib/server/action.ts too.
import { NextResponse, type NextRequest } from "next/server";
import { describeAllowedHosts, hostAllowed, TOKEN_HEADER, TOKEN_REFUSAL, tokenMatches } from "./lib/panel/guard";

const SECURITY_HEADERS = { "x-frame-options": "DENY", "content-security-policy": "frame-ancestors 'none'", "cache-control": "no-store" };

/** The deploy page's EventSource cannot send headers: only its GET carries the same token as ?token= (checked alike). */
const EVENT_STREAM_PATH = /^\/api\/deploys\/[A-Za-z0-9_-]{1,80}\/events$/;
function streamToken(request: NextRequest): string | null {
  return request.method === "GET" && EVENT_STREAM_PATH.test(request.nextUrl.pathname) ? request.nextUrl.searchParams.get("token") : null;
}

export function proxy(request: NextRequest) {
  const host = request.headers.get("host");
  if (!hostAllowed(host)) {
    return new NextResponse(`Misdirected request: this Deckhand panel answers only to ${describeAllowedHosts()}, not ${JSON.stringify(host ?? "")}.\n`, {
      status: 421,
      headers: { "content-type": "text/plain; charset=utf-8", ...SECURITY_HEADERS },
    });
  }
  if (request.nextUrl.pathname.startsWith("/api/") && !tokenMatches(request.headers.get(TOKEN_HEADER) ?? streamToken(request))) {
    return NextResponse.json({ error: TOKEN_REFUSAL }, { status: 403, headers: SECURITY_HEADERS });
  }
  return NextResponse.next();
}
