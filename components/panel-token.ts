// The per-launch panel token, read from the server-rendered page (a cross-origin page cannot read
// it): sent as a header on API fetches and inside every server action's input.
import { ACTION_TOKEN_FIELD, TOKEN_HEADER, TOKEN_META } from "@/lib/panel/names";

export function panelToken(): string {
  if (typeof document === "undefined") return "";
  return document.querySelector(`meta[name="${TOKEN_META}"]`)?.getAttribute("content") ?? "";
}

export function tokenHeaders(): Record<string, string> {
  return { [TOKEN_HEADER]: panelToken() };
}

/** A server action's input with the token added; the server removes it before validating. */
export function withToken<T extends object>(input: T): T {
  return { ...input, [ACTION_TOKEN_FIELD]: panelToken() };
}
