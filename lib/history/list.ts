import type { Db } from "./db";

/** What the history page can narrow on. Values are already validated (lib/server/query-params.ts). */
export interface DeployFilters {
  environment?: string;
  service?: string;
  status?: string;
  kind?: string;
  /** createdBy, exactly. */
  who?: string;
  /** Days, YYYY-MM-DD in UTC, both inclusive. */
  from?: string;
  to?: string;
  /** Words to find in host output (stdout or stderr), all of them; a word ending in * is a prefix. */
  q?: string;
}

/** A page boundary: `after` the older page, `before` the newer one (keyset, never OFFSET). */
export type DeployCursor = { after: string } | { before: string };

export interface OutputMatch {
  hostRunId: string;
  hostName: string;
  attempt: number;
  /** A few words around the match, cut from host output: untrusted text, bounded; MARK_START/MARK_END around the hits. */
  snippet: string;
}

export const MARK_START = "\u0002";
export const MARK_END = "\u0003";
export const SNIPPET_MAX_CHARS = 300;
export const PAGE_LIMIT_MAX = 200;

/** A cursor is the (createdAt, id) of a row exactly as stored, opaque to the page. */
export function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(`${createdAt}|${id}`).toString("base64url");
}

export function decodeCursor(cursor: string): { createdAt: string; id: string } | null {
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(cursor)) return null;
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00)\|([A-Za-z0-9_-]{1,80})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  return match ? { createdAt: match[1]!, id: match[2]! } : null;
}

/** How Prisma's SQLite adapter stores a DateTime: ISO 8601 with +00:00, so text order is time order. */
export function storedTime(date: Date): string {
  return date.toISOString().replace("Z", "+00:00");
}

/**
 * The operator's words as an FTS5 query: each word quoted (so nothing in it is FTS syntax), all
 * required; a trailing * keeps prefix search. Null when no word is left.
 */
export function toFtsQuery(text: string): string | null {
  const words = (text.match(/[^\s"]+/g) ?? []).slice(0, 12);
  const terms = words.flatMap((word) => {
    const prefix = word.endsWith("*");
    const bare = word.replace(/\*+$/, "");
    return /[\p{L}\p{N}]/u.test(bare) ? [`"${bare}"${prefix ? "*" : ""}`] : [];
  });
  return terms.length ? terms.join(" ") : null;
}

const dayStart = (day: string) => `${day}T00:00:00.000+00:00`;
const nextDayStart = (day: string) => storedTime(new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000));

/** WHERE terms and their parameters for the filters (not the cursor). */
function whereOf(filters: DeployFilters): { terms: string[]; params: unknown[] } {
  const terms: string[] = [];
  const params: unknown[] = [];
  if (filters.environment) (terms.push(`d."environment" = ?`), params.push(filters.environment));
  // services is Deckhand's own JSON array of validated names: the quoted name is found exactly.
  if (filters.service) (terms.push(`instr(d."services", ?) > 0`), params.push(JSON.stringify(filters.service)));
  if (filters.status) (terms.push(`d."status" = ?`), params.push(filters.status));
  if (filters.kind) (terms.push(`d."kind" = ?`), params.push(filters.kind));
  if (filters.who) (terms.push(`d."createdBy" = ?`), params.push(filters.who));
  if (filters.from) (terms.push(`d."createdAt" >= ?`), params.push(dayStart(filters.from)));
  if (filters.to) (terms.push(`d."createdAt" < ?`), params.push(nextDayStart(filters.to)));
  const fts = filters.q ? toFtsQuery(filters.q) : null;
  if (fts) {
    // The matches become a set of deploy ids (no HostRun row is read); the unary + keeps the page walking
    // a (createdAt, id) index newest first and stopping at the page's end, rather than sorting every match.
    terms.push(`+d."id" IN (SELECT r."deployId" FROM "HostRunOutput" f JOIN "OutputSearchRow" r ON r."id" = f."rowid" WHERE "HostRunOutput" MATCH ?)`);
    params.push(fts);
  }
  return { terms, params };
}

/** The SQL of one page's keys (exported for the EXPLAIN QUERY PLAN tests). */
export function pageQuery(filters: DeployFilters, cursor: DeployCursor | undefined, limit: number): { sql: string; params: unknown[]; newestFirst: boolean } {
  const { terms, params } = whereOf(filters);
  const newestFirst = !cursor || "after" in cursor;
  const at = cursor ? decodeCursor("after" in cursor ? cursor.after : cursor.before) : null;
  if (cursor && !at) throw new Error("unreadable cursor");
  if (at) {
    terms.push(newestFirst ? `(d."createdAt", d."id") < (?, ?)` : `(d."createdAt", d."id") > (?, ?)`);
    params.push(at.createdAt, at.id);
  }
  const order = newestFirst ? "DESC" : "ASC";
  const sql = `SELECT d."id" AS "id", d."createdAt" AS "createdAt" FROM "Deploy" d ${terms.length ? `WHERE ${terms.join(" AND ")}` : ""} ORDER BY d."createdAt" ${order}, d."id" ${order} LIMIT ?`;
  return { sql, params: [...params, limit + 1], newestFirst };
}

/**
 * One page of history, newest first, narrowed by the filters; keyset pages by (createdAt, id).
 * Lists never read output, scripts or manifests; with `q`, each deploy says which host runs matched,
 * with a bounded snippet.
 */
export async function listDeploys(db: Db, options: { filters?: DeployFilters; cursor?: DeployCursor; limit?: number } = {}) {
  const filters = options.filters ?? {};
  const limit = Math.min(Math.max(1, options.limit ?? 50), PAGE_LIMIT_MAX);
  const query = pageQuery(filters, options.cursor, limit);
  const keys = await db.$queryRawUnsafe<{ id: string; createdAt: string | Date }[]>(query.sql, ...query.params);
  const more = keys.length > limit;
  const page = keys.slice(0, limit);
  if (!query.newestFirst) page.reverse();
  const ids = page.map((k) => k.id);
  const rows = ids.length
    ? await db.deploy.findMany({
        where: { id: { in: ids } },
        omit: { script: true, manifest: true, liveCursor: true },
        include: { hostRuns: { select: { instanceId: true, hostName: true, status: true, attempt: true, startedAt: true, finishedAt: true } } },
      })
    : [];
  const byId = new Map(rows.map((row) => [row.id, row]));
  const deploys = ids.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []));
  const cursorOf = (row: { id: string; createdAt: Date }) => encodeCursor(storedTime(row.createdAt), row.id);
  const first = deploys[0];
  const last = deploys.at(-1);
  const next = last && (query.newestFirst ? more : true) ? cursorOf(last) : null;
  const previous = first && (query.newestFirst ? Boolean(options.cursor) : more) ? cursorOf(first) : null;
  const matches = filters.q ? await outputMatches(db, ids, filters.q) : new Map<string, OutputMatch[]>();
  return { deploys, next, previous, matches };
}

/** Snippets cut per page: each reads and re-tokenizes one host's whole output, so they are bounded too. */
export const SNIPPETS_PER_PAGE = 20;

/** For the deploys on one page: which host runs' output matched, the first SNIPPETS_PER_PAGE with a short snippet. */
async function outputMatches(db: Db, deployIds: string[], q: string): Promise<Map<string, OutputMatch[]>> {
  const fts = toFtsQuery(q);
  const result = new Map<string, OutputMatch[]>();
  if (!fts || deployIds.length === 0) return result;
  const marks = (list: unknown[]) => list.map(() => "?").join(", ");
  // The page's host runs (OutputSearchRow by deployId), then which of them match: FTS5 looked up by rowid.
  const runs = await db.$queryRawUnsafe<{ sid: number | bigint; hostRunId: string; deployId: string; hostName: string; attempt: number | bigint }[]>(
    `SELECT r."id" AS "sid", h."id" AS "hostRunId", h."deployId" AS "deployId", h."hostName" AS "hostName", h."attempt" AS "attempt"
     FROM "OutputSearchRow" r JOIN "HostRun" h ON h."id" = r."hostRunId" WHERE r."deployId" IN (${marks(deployIds)})`,
    ...deployIds,
  );
  if (runs.length === 0) return result;
  const sids = runs.map((run) => Number(run.sid));
  const matched = new Set(
    (await db.$queryRawUnsafe<{ sid: number | bigint }[]>(`SELECT "rowid" AS "sid" FROM "HostRunOutput" WHERE "HostRunOutput" MATCH ? AND "rowid" IN (${marks(sids)})`, fts, ...sids)).map((row) => Number(row.sid)),
  );
  const order = new Map(deployIds.map((id, i) => [id, i]));
  const hits = runs
    .filter((run) => matched.has(Number(run.sid)))
    .sort((a, b) => order.get(a.deployId)! - order.get(b.deployId)! || Number(a.attempt) - Number(b.attempt) || a.hostName.localeCompare(b.hostName));
  const snippetFor = hits.slice(0, SNIPPETS_PER_PAGE).map((run) => Number(run.sid));
  const snippets = new Map(
    snippetFor.length
      ? (
          await db.$queryRawUnsafe<{ sid: number | bigint; snippet: string | null }[]>(
            `SELECT "rowid" AS "sid", snippet("HostRunOutput", -1, char(2), char(3), '…', 12) AS "snippet" FROM "HostRunOutput" WHERE "HostRunOutput" MATCH ? AND "rowid" IN (${marks(snippetFor)})`,
            fts,
            ...snippetFor,
          )
        ).map((row) => [Number(row.sid), (row.snippet ?? "").replace(/[\0\r]/g, "").slice(0, SNIPPET_MAX_CHARS)] as const)
      : [],
  );
  for (const run of hits) {
    const list = result.get(run.deployId) ?? [];
    list.push({ hostRunId: run.hostRunId, hostName: run.hostName, attempt: Number(run.attempt), snippet: snippets.get(Number(run.sid)) ?? "" });
    result.set(run.deployId, list);
  }
  return result;
}
