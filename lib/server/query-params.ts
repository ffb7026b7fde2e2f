// Query parameters of the API routes, parsed in one plain module (tested by the hostile suite).
import { z } from "zod";
import { DEPLOY_KINDS, DEPLOY_STATUSES } from "../deploy/status";
import { decodeCursor, PAGE_LIMIT_MAX, toFtsQuery, type DeployCursor, type DeployFilters } from "../history/list";
import { deployId, environmentName, serviceName } from "./action-schemas";

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

const day = z
  .string()
  .regex(/^\d{4}-\d\d-\d\d$/, "not a date (YYYY-MM-DD)")
  .refine((value) => !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value), "not a real date");
const cursorText = z.string().refine((value) => decodeCursor(value) !== null, "not a page link this panel made (start again from the first page)");

/** The history page's filters, all optional; empty fields count as absent (a plain GET form sends them). */
export const historyQuery = z
  .object({
    environment: environmentName.optional(),
    service: serviceName.optional(),
    status: z.enum(DEPLOY_STATUSES, { error: `not a status (one of ${DEPLOY_STATUSES.join(", ")})` }).optional(),
    kind: z.enum(DEPLOY_KINDS, { error: `not a kind (one of ${DEPLOY_KINDS.join(", ")})` }).optional(),
    who: z.string().max(200, "too long").refine((value) => !/[\0-\x1f]/.test(value), "no control characters").optional(),
    from: day.optional(),
    to: day.optional(),
    q: z
      .string()
      .max(200, "keep the search under 200 characters")
      .refine((value) => !/[\0-\x08\x0b-\x1f]/.test(value), "no control characters")
      .refine((value) => toFtsQuery(value) !== null, "type at least one word or number to find in output")
      .optional(),
    after: cursorText.optional(),
    before: cursorText.optional(),
    /** Deploys per page (default 50). */
    per: z.string().regex(/^\d{1,3}$/, "not a page size").transform(Number).refine((n) => n >= 1 && n <= PAGE_LIMIT_MAX, `a page holds 1 to ${PAGE_LIMIT_MAX} deploys`).optional(),
  })
  .strict()
  .refine((value) => !(value.after && value.before), { message: "a page has either after or before, not both", path: ["after"] })
  .refine((value) => !(value.from && value.to && value.from > value.to), { message: "the start date is after the end date", path: ["from"] });

export type HistoryQuery = { filters: DeployFilters; cursor?: DeployCursor; limit?: number };

/** /history?environment=&service=&status=&kind=&who=&from=&to=&q=&after=|before= */
export function parseHistoryQuery(params: URLSearchParams | Record<string, string | string[] | undefined>): Parsed<HistoryQuery> {
  const entries: Record<string, string> = {};
  const pairs = params instanceof URLSearchParams ? [...params.entries()] : Object.entries(params).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x] as [string, string]) : v === undefined ? [] : [[k, v] as [string, string]]));
  for (const [key, value] of pairs) {
    if (key in entries) return { ok: false, error: `${key}: given more than once` };
    if (value.trim() !== "") entries[key] = key === "who" || key === "q" ? value.trim() : value;
  }
  const parsed = historyQuery.safeParse(entries);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join(".") || (issue.code === "unrecognized_keys" ? (issue as { keys?: string[] }).keys?.join(", ") : "") || "query";
    return { ok: false, error: issue.code === "unrecognized_keys" ? `${field}: not a filter of the history page` : `${field}: ${issue.message}` };
  }
  const { after, before, per, ...filters } = parsed.data;
  return { ok: true, value: { filters, cursor: after ? { after } : before ? { before } : undefined, ...(per ? { limit: per } : {}) } };
}
