import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SEED_USERS, seedHistory } from "../../scripts/seed-history";
import { HOSTILE_VALUES } from "../safety/hostile-values";
import { parseHistoryQuery } from "../server/query-params";
import { openDatabase, type Db } from "./db";
import { createHostRuns, insertDeploy, updateHostRun } from "./deploys";
import { decodeCursor, listDeploys, MARK_END, MARK_START, pageQuery, toFtsQuery, type DeployFilters } from "./list";

const HOSTS = [{ instanceId: "i-0aaaaaaaaaaaaaaa1", name: "EC2 a" }, { instanceId: "i-0bbbbbbbbbbbbbbb2", name: "EC2 b" }];
let file: string;
let db: Db;
let raw: Database.Database;

beforeAll(async () => {
  file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-list-")), "history.db");
  seedHistory(file, { deploys: 400, outputBytes: 3000, environment: "prod", hosts: HOSTS, services: ["ui", "audit", "gateway"], days: 30, until: new Date("2026-06-30T12:00:00Z"), seed: 5 });
  db = openDatabase(file);
  // Two deploys written by the app's own writers, with output a search must find.
  for (const [id, text, day] of [["needle1", "==> pulling layer\nerror: quokka-17 refused the socket", "2026-07-02"], ["needle2", "all fine, quokka-17 is happy", "2026-07-03"]] as const) {
    await insertDeploy(db, { id, environment: "dev", kind: "deploy", services: ["audit"], label: "audit", bundleKey: `deployments/acp_audit_${id}.tar.gz`, bundleBucket: "b", createdBy: "zoe@laptop" });
    await db.deploy.update({ where: { id }, data: { createdAt: new Date(`${day}T10:00:00Z`) } });
    await createHostRuns(db, id, 1, `c-${id}`, HOSTS);
    await updateHostRun(db, `${id}-1-${HOSTS[1]!.instanceId}`, { status: "Success", stdout: text, finishedAt: new Date(`${day}T10:05:00Z`) });
  }
  raw = new Database(file, { readonly: true });
});
afterAll(async () => {
  raw?.close();
  await db?.$disconnect();
});

/** Every deploy matching the filters, newest first, straight from the table (the reference). */
function reference(filters: DeployFilters): string[] {
  const rows = raw.prepare(`SELECT id, environment, kind, status, createdBy, services, createdAt FROM Deploy ORDER BY createdAt DESC, id DESC`).all() as Record<string, string>[];
  return rows
    .filter((d) => (!filters.environment || d.environment === filters.environment) && (!filters.kind || d.kind === filters.kind) && (!filters.status || d.status === filters.status) && (!filters.who || d.createdBy === filters.who))
    .filter((d) => !filters.service || (JSON.parse(d.services!) as string[]).includes(filters.service))
    .filter((d) => (!filters.from || d.createdAt! >= `${filters.from}T00:00:00`) && (!filters.to || d.createdAt!.slice(0, 10) <= filters.to))
    .map((d) => d.id!);
}

async function walk(filters: DeployFilters, limit: number) {
  const seen: string[] = [];
  const pages: { next: string | null; previous: string | null; ids: string[] }[] = [];
  let cursor: string | null = null;
  do {
    const page = await listDeploys(db, { filters, cursor: cursor ? { after: cursor } : undefined, limit });
    pages.push({ next: page.next, previous: page.previous, ids: page.deploys.map((d) => d.id) });
    seen.push(...page.deploys.map((d) => d.id));
    cursor = page.next;
  } while (cursor && pages.length < 100);
  return { seen, pages };
}

describe("listDeploys: filters, keyset pages, output search", () => {
  it("pages through everything with Next, exactly once each, and back with Previous", async () => {
    const { seen, pages } = await walk({}, 37);
    expect(seen).toEqual(reference({}));
    expect(seen.length).toBe(402);
    expect(pages[0]!.previous).toBeNull();
    expect(pages.at(-1)!.next).toBeNull();
    // Back from the third page lands on the second exactly.
    const third = await listDeploys(db, { cursor: { after: pages[1]!.next! }, limit: 37 });
    expect(third.deploys.map((d) => d.id)).toEqual(pages[2]!.ids);
    const second = await listDeploys(db, { cursor: { before: third.previous! }, limit: 37 });
    expect(second.deploys.map((d) => d.id)).toEqual(pages[1]!.ids);
    const first = await listDeploys(db, { cursor: { before: second.previous! }, limit: 37 });
    expect(first.deploys.map((d) => d.id)).toEqual(pages[0]!.ids);
    expect(first.previous).toBeNull();
    expect(first.next).not.toBeNull();
    // A cursor is (createdAt, id): two deploys at the same instant are neither skipped nor repeated.
    expect(decodeCursor(pages[0]!.next!)).toMatchObject({ id: pages[0]!.ids.at(-1) });
  });

  it("narrows by each filter and by several at once, across pages", async () => {
    const cases: DeployFilters[] = [
      { environment: "prod" },
      { environment: "dev" },
      { service: "audit" },
      { service: "gate" }, // a prefix of a service name matches nothing
      { status: "failed" },
      { kind: "rollback" },
      { who: SEED_USERS[1] },
      { from: "2026-06-10", to: "2026-06-12" },
      { environment: "prod", service: "ui", status: "succeeded", who: SEED_USERS[0] },
    ];
    for (const filters of cases) {
      const expected = reference(filters);
      const { seen } = await walk(filters, 25);
      expect(seen, JSON.stringify(filters)).toEqual(expected);
      if (!("service" in filters && filters.service === "gate")) expect(expected.length, JSON.stringify(filters)).toBeGreaterThan(0);
    }
    expect(reference({ service: "gate" })).toEqual([]);
  });

  it("finds words in host output and says which host run matched, with a bounded snippet", async () => {
    const page = await listDeploys(db, { filters: { q: "quokka-17" } });
    expect(page.deploys.map((d) => d.id)).toEqual(["needle2", "needle1"]);
    const match = page.matches.get("needle1")!;
    expect(match).toHaveLength(1);
    expect(match[0]).toMatchObject({ hostRunId: `needle1-1-${HOSTS[1]!.instanceId}`, hostName: "EC2 b", attempt: 1 });
    expect(match[0]!.snippet).toMatch(new RegExp(`error: ${MARK_START}quokka-17${MARK_END} refused`));
    expect(match[0]!.snippet.length).toBeLessThanOrEqual(300);
    // search and filters together
    expect((await listDeploys(db, { filters: { q: "quokka", from: "2026-07-03" } })).deploys.map((d) => d.id)).toEqual(["needle2"]);
    expect((await listDeploys(db, { filters: { q: "refused socket" } })).deploys.map((d) => d.id)).toEqual(["needle1"]);
    expect((await listDeploys(db, { filters: { q: "quok*" } })).deploys.map((d) => d.id)).toEqual(["needle2", "needle1"]);
    expect((await listDeploys(db, { filters: { q: "quokka nothinglikethis" } })).deploys).toEqual([]);
    // FTS syntax in the operator's words is only words
    expect(toFtsQuery('quokka" OR NEAR(x')).toBe('"quokka" "OR" "NEAR(x"');
    expect((await listDeploys(db, { filters: { q: 'quokka" OR NEAR(' } })).deploys).toEqual([]);
    // seeded output is searchable too (written through the insert trigger)
    const seeded = await listDeploys(db, { filters: { q: "step-7-3" }, limit: 5 });
    expect(seeded.deploys.length).toBeGreaterThan(0);
    expect(seeded.matches.get(seeded.deploys[0]!.id)!.length).toBeGreaterThan(0);
  });

  it("validates the page's query: bad filters get a clear message naming the field", () => {
    const parse = (query: string) => parseHistoryQuery(new URLSearchParams(query));
    expect(parse("environment=prod&service=ui&status=failed&kind=rollback&who=me%40laptop&from=2026-01-01&to=2026-02-01&q=quokka")).toEqual({
      ok: true,
      value: { filters: { environment: "prod", service: "ui", status: "failed", kind: "rollback", who: "me@laptop", from: "2026-01-01", to: "2026-02-01", q: "quokka" }, cursor: undefined },
    });
    expect(parse("environment=&service=&q=")).toEqual({ ok: true, value: { filters: {}, cursor: undefined } });
    expect(parse("status=exploded")).toMatchObject({ ok: false, error: expect.stringMatching(/^status: not a status/) });
    expect(parse("from=2026-02-30")).toMatchObject({ ok: false, error: "from: not a real date" });
    expect(parse("from=2026-03-01&to=2026-02-01")).toMatchObject({ ok: false, error: "from: the start date is after the end date" });
    expect(parse("service=__proto__")).toMatchObject({ ok: false, error: expect.stringMatching(/^service: /) });
    expect(parse("q=%22%22%22")).toMatchObject({ ok: false, error: expect.stringMatching(/^q: type at least one word/) });
    expect(parse("after=bm9wZQ")).toMatchObject({ ok: false, error: expect.stringMatching(/^after: not a page link/) });
    expect(parse("sort=desc")).toMatchObject({ ok: false, error: "sort: not a filter of the history page" });
    expect(parse("kind=deploy&kind=rollback")).toMatchObject({ ok: false, error: "kind: given more than once" });
    expect(parse(`q=${"a".repeat(201)}`)).toMatchObject({ ok: false, error: expect.stringMatching(/^q: keep the search/) });
  });

  it("hostile values in every filter: refused naming the field, or (who, q) searched inertly without an error", async () => {
    const wrong: string[] = [];
    for (const field of ["environment", "service", "status", "kind", "who", "from", "to", "q", "after", "before", "per"]) {
      for (const value of HOSTILE_VALUES) {
        if (value.trim() === "") continue; // an empty field is no filter
        const parsed = parseHistoryQuery(new URLSearchParams({ [field]: value }));
        if (!parsed.ok) {
          if (!parsed.error.startsWith(`${field}: `)) wrong.push(`${field}=${JSON.stringify(value).slice(0, 40)}: ${parsed.error}`);
          continue;
        }
        if (field !== "who" && field !== "q") {
          wrong.push(`${field}=${JSON.stringify(value).slice(0, 40)} accepted`);
          continue;
        }
        try {
          const page = await listDeploys(db, { filters: parsed.value.filters, limit: 5 });
          if (page.deploys.some((d) => field === "who" && d.createdBy !== parsed.value.filters.who)) wrong.push(`who=${JSON.stringify(value)} matched others`);
        } catch (error) {
          wrong.push(`${field}=${JSON.stringify(value).slice(0, 40)} threw ${(error as Error).message}`);
        }
      }
    }
    expect(wrong, wrong.join("\n")).toEqual([]);
  });

  it("uses an index for every list (EXPLAIN QUERY PLAN: no full scan of Deploy, HostRun or the live tables, no sort)", () => {
    const plan = (sql: string, params: unknown[]) => (raw.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail);
    // A search is driven by the output index and sorts only the matching keys, the active list only the few
    // unfinished deploys; every other list reads in index order (the bundles page sorts its few rows in JS).
    const noFullScan = (details: string[], label: string) => {
      for (const detail of details) {
        expect(detail, `${label}: ${details.join(" / ")}`).not.toMatch(/^SCAN (d|h|Deploy|HostRun|ServiceSuccess)$/);
        if (!/^(search|active)/.test(label)) expect(detail, `${label}: ${details.join(" / ")}`).not.toMatch(/TEMP B-TREE FOR ORDER BY/);
      }
    };
    const cursor = { after: Buffer.from("2026-06-15T00:00:00.000+00:00|seed1").toString("base64url") };
    const lists: [string, DeployFilters][] = [["all", {}], ["environment", { environment: "prod" }], ["status", { status: "failed" }], ["who", { who: "asha@laptop" }], ["dates", { from: "2026-06-01", to: "2026-06-02" }], ["search", { q: "quokka" }]];
    for (const [label, filters] of lists) {
      const first = pageQuery(filters, undefined, 50);
      noFullScan(plan(first.sql, first.params), label);
      const next = pageQuery(filters, cursor, 50);
      noFullScan(plan(next.sql, next.params), `${label}, next page`);
    }
    // The SQL Prisma runs for the other lists, spelled out.
    // LiveService may be read whole: it holds one row per host and service, however long the history.
    expect(raw.prepare(`SELECT count(*) FROM LiveService`).pluck().get()).toBeLessThanOrEqual(HOSTS.length * 3 * 2);
    noFullScan(plan(`SELECT * FROM ServiceSuccess WHERE environment = ? AND service = ? AND bundleKey <> ? AND at <= ? ORDER BY at DESC, startedAt DESC LIMIT 1`, ["prod", "ui", "k", "2027"]), "rollback target");
    noFullScan(plan(`SELECT h.status FROM HostRun h JOIN Deploy d ON d.id = h.deployId WHERE h.instanceId = ? AND d.environment = ? ORDER BY h.startedAt DESC LIMIT 1`, ["i-a", "prod"]), "last run per host");
    noFullScan(plan(`SELECT id FROM Deploy d WHERE d.status IN ('queued', 'running') ORDER BY d.createdAt DESC LIMIT 20`, []), "active deploys");
    noFullScan(plan(`SELECT id FROM Deploy d ORDER BY d.createdAt DESC LIMIT 20`, []), "recent deploys");
    expect(plan(`SELECT id FROM Deploy d WHERE d.environment = ? AND d.status IN ('queued', 'running', 'awaiting_confirmation') LIMIT 1`, ["prod"]).join(" / "), "the environment's active deploy").toMatch(
      /SEARCH d USING (COVERING )?INDEX Deploy_environment_status_idx \(environment=\? AND status=\?\)/,
    );
    const bundles = plan(`SELECT id, (SELECT count(*) FROM HostRun h WHERE h.deployId = d.id) FROM Deploy d WHERE d.environment = ? AND d.bundleKey IN (?, ?)`, ["prod", "a", "b"]);
    noFullScan(bundles, "bundles' history");
    expect(bundles.join(" / ")).toMatch(/SEARCH d USING INDEX Deploy_environment_bundleKey_idx \(environment=\? AND bundleKey=\?\)/);
    noFullScan(plan(`SELECT count(*) FROM HostRun h WHERE h.deployId = ?`, ["x"]), "host runs of a deploy");
    expect(plan(pageQuery({ environment: "prod" }, cursor, 50).sql, pageQuery({ environment: "prod" }, cursor, 50).params).join(" ")).toMatch(/SEARCH d USING (COVERING )?INDEX Deploy_environment_createdAt_id_idx/);
  });
});
