// The panel's front door: which Host names it answers to and the per-launch token every API call
// and server action must carry. Plain TypeScript (no "server-only") so proxy.ts, route handlers,
// server actions and tests share one copy of the rules.
import { randomBytes, timingSafeEqual } from "node:crypto";

export { ACTION_TOKEN_FIELD, TOKEN_HEADER, TOKEN_META } from "./names";

const STORE = Symbol.for("deckhand.panelToken");
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * This launch's token. scripts/start.mjs passes a fresh one in DECKHAND_PANEL_TOKEN; otherwise the
 * first caller makes one and leaves it in the environment, so every bundle in this process agrees.
 */
export function panelToken(): string {
  const fromEnv = process.env.DECKHAND_PANEL_TOKEN;
  if (fromEnv && fromEnv.length >= 32) return fromEnv;
  const global = globalThis as { [STORE]?: string };
  global[STORE] ??= randomBytes(32).toString("base64url");
  process.env.DECKHAND_PANEL_TOKEN = global[STORE];
  return global[STORE];
}

export function tokenMatches(candidate: unknown): boolean {
  if (typeof candidate !== "string" || candidate.length === 0 || candidate.length > 200) return false;
  const a = Buffer.from(candidate);
  const b = Buffer.from(panelToken());
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Names besides loopback the operator allowed when binding elsewhere (DECKHAND_ALLOWED_HOSTS=a,b). */
function extraHosts(): string[] {
  return (process.env.DECKHAND_ALLOWED_HOSTS ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
}

/**
 * True when a request's Host header names this panel: 127.0.0.1, localhost or [::1] (or an
 * allowed extra name) on the port it listens on. A DNS-rebound page sends its own name: refused.
 */
export function hostAllowed(host: string | null | undefined, port = process.env.PORT): boolean {
  if (!host || host.length > 300) return false;
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/i.exec(host.trim());
  if (!match) return false;
  const name = match[1]!.toLowerCase();
  const hostPort = match[2] ?? "80";
  if (!LOOPBACK.has(name) && !extraHosts().includes(name)) return false;
  return !port || hostPort === String(port);
}

export function describeAllowedHosts(port = process.env.PORT): string {
  const names = [...LOOPBACK, ...extraHosts()];
  return names.map((n) => (port ? `${n}:${port}` : n)).join(", ");
}

/** The refusal for a call without the token (JSON for API routes). */
export const TOKEN_REFUSAL = "Refused: this request did not come from a Deckhand page (missing or wrong panel token). Reload the panel.";
