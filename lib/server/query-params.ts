// Query parameters of the API routes, parsed in one plain module (tested by the hostile suite).
import { deployId, environmentName } from "./action-schemas";

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

function firstIssue(error: { issues: { message: string }[] }): string {
  return error.issues[0]?.message ?? "invalid";
}

/** /api/bundles?environment=&page=&refresh=1 */
export function parseBundlesQuery(params: URLSearchParams): Parsed<{ environment: string; page: number; refresh: boolean }> {
  const environment = environmentName.safeParse(params.get("environment") ?? "");
  if (!environment.success) return { ok: false, error: `environment: ${firstIssue(environment.error)}` };
  const rawPage = params.get("page") ?? "1";
  const page = /^\d{1,6}$/.test(rawPage) ? Math.max(1, Number(rawPage)) : 1;
  return { ok: true, value: { environment: environment.data, page, refresh: params.get("refresh") === "1" } };
}

/** /api/deploys/[id] */
export function parseDeployId(id: string): Parsed<string> {
  const parsed = deployId.safeParse(id);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, error: `deploy id: ${firstIssue(parsed.error)}` };
}

const CURSOR = /^\d{1,15}$/;

/** The event stream's resume point: SSE's Last-Event-ID (a reconnect) wins over ?after= (the page's first open). */
export function parseEventCursor(lastEventId: string | null, after: string | null): Parsed<number> {
  const raw = lastEventId ?? after ?? "0";
  if (!CURSOR.test(raw)) return { ok: false, error: `${lastEventId !== null ? "Last-Event-ID" : "after"}: not an output cursor (a whole number)` };
  return { ok: true, value: Number(raw) };
}

/** /api/deploys/[id]/output?hostRun=&before=&limit= */
export function parseOutputPageQuery(params: URLSearchParams): Parsed<{ hostRun: string; before: number | null; limit: number }> {
  const hostRun = params.get("hostRun") ?? "";
  if (!/^[A-Za-z0-9_.-]{1,200}$/.test(hostRun)) return { ok: false, error: "hostRun: not a host run id" };
  const before = params.get("before");
  if (before !== null && !CURSOR.test(before)) return { ok: false, error: "before: not an output cursor (a whole number)" };
  const limit = params.get("limit") ?? "2000";
  if (!/^\d{1,5}$/.test(limit) || Number(limit) < 1 || Number(limit) > 10_000) return { ok: false, error: "limit: a whole number from 1 to 10000" };
  return { ok: true, value: { hostRun, before: before === null ? null : Number(before), limit: Number(limit) } };
}
