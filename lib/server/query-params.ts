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
