// Query parameters of the API routes, parsed in one plain module (tested by the hostile suite).
import { z } from "zod";
import { DEPLOY_STATUSES } from "../deploy/status";
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
    kind: z.enum(["deploy", "rollback", "redeploy"], { error: "not a kind (deploy, rollback or redeploy)" }).optional(),
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
