import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { openDatabase, type Db } from "./db";
import { createHostRuns, insertDeploy, lastRunPerHost, updateHostRun } from "./deploys";
import { liveAndRollbackTargets, liveBundles, newestLive, type LiveBundle, type LiveMap, type RollbackTargets } from "./live";
import { migrateDatabase, MIGRATIONS_DIR } from "./migrate";

// The computation live.ts used before the LiveService table: every successful host run of the
// environment, newest first. Kept here as the reference the table must agree with.
async function oldLiveAndTargets(db: Db, environment: string): Promise<{ live: LiveMap; targets: RollbackTargets }> {
  const runs = (
    await db.hostRun.findMany({
      where: { status: "Success", deploy: { environment } },
      orderBy: [{ finishedAt: "desc" }, { startedAt: "desc" }],
      select: { instanceId: true, finishedAt: true, startedAt: true, deploy: { select: { id: true, services: true, bundleKey: true, kind: true } } },
    })
  ).map((run) => ({ instanceId: run.instanceId, at: run.finishedAt ?? run.startedAt, deployId: run.deploy.id, bundleKey: run.deploy.bundleKey, kind: run.deploy.kind, services: JSON.parse(run.deploy.services) as string[] }));
  const live: LiveMap = new Map();
  for (const run of runs) {
    const perHost = live.get(run.instanceId) ?? new Map<string, LiveBundle>();
    live.set(run.instanceId, perHost);
    for (const service of run.services) if (!perHost.has(service)) perHost.set(service, { deployId: run.deployId, bundleKey: run.bundleKey, kind: run.kind, at: run.at });
  }
  const targets: RollbackTargets = new Map();
  for (const service of new Set(runs.flatMap((r) => r.services))) {
    const current = newestLive(live, [service]);
    if (!current) continue;
    const earlier = runs.find((run) => run.services.includes(service) && run.bundleKey !== current.bundleKey && run.at.getTime() <= current.at.getTime());
    targets.set(service, { current, previous: earlier ? { deployId: earlier.deployId, bundleKey: earlier.bundleKey, kind: earlier.kind, at: earlier.at } : null });
  }
  return { live, targets };
}

const HOST_IDS = ["i-00000000000000a01", "i-00000000000000b02", "i-00000000000000c03"];

/** The dashboard's last run per host as it was computed before HostLastRun: the host's runs, newest first. */
async function oldLastRunPerHost(db: Db, environment: string) {
  const result: Record<string, { deployId: string; label: string; status: string; at: Date }> = {};
  for (const instanceId of HOST_IDS) {
    const run = await db.hostRun.findFirst({ where: { instanceId, deploy: { environment } }, orderBy: { startedAt: "desc" }, select: { status: true, startedAt: true, deploy: { select: { id: true, label: true } } } });
    if (run) result[instanceId] = { deployId: run.deploy.id, label: run.deploy.label, status: run.status, at: run.startedAt };
  }
  return result;
}

const plain = (result: { live: LiveMap; targets: RollbackTargets }) => ({
  live: Object.fromEntries([...result.live].sort(([a], [b]) => a.localeCompare(b)).map(([host, perService]) => [host, Object.fromEntries([...perService].sort(([a], [b]) => a.localeCompare(b)))])),
  targets: Object.fromEntries([...result.targets].sort(([a], [b]) => a.localeCompare(b))),
});

/** A deterministic pseudo-random history: services, kinds, partial failures, retries, reused bundles. */
async function varyHistory(db: Db, seed: number, deploys: number) {
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = <T,>(items: T[]) => items[Math.floor(random() * items.length)]!;
  const hosts = [{ instanceId: "i-00000000000000a01", name: "EC2 a" }, { instanceId: "i-00000000000000b02", name: "EC2 b" }, { instanceId: "i-00000000000000c03", name: "EC2 c" }];
  const services = ["ui", "audit", "gateway", "worker"];
  let clock = Date.UTC(2026, 0, 1);
  const keys: string[] = [];
  for (let n = 0; n < deploys; n++) {
    const environment = random() < 0.8 ? "prod" : "dev";
    const chosen = services.filter(() => random() < 0.4);
    if (chosen.length === 0) chosen.push(pick(services));
    const reuse = keys.length > 0 && random() < 0.3;
    const bundleKey = reuse ? pick(keys) : `deployments/acp_${chosen.join("-")}_${n}.tar.gz`;
    if (!reuse) keys.push(bundleKey);
    const id = `d${n}`;
    await insertDeploy(db, { id, environment, kind: reuse ? pick(["rollback", "redeploy"]) : "deploy", services: chosen, label: chosen.join(","), bundleKey, bundleBucket: "b", createdBy: "me@laptop" });
    const reached = hosts.filter(() => random() < 0.85);
    for (let attempt = 1; attempt <= (random() < 0.1 ? 2 : 1); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 2)); // each attempt starts at its own millisecond
      await createHostRuns(db, id, attempt, `cmd-${n}-${attempt}`, reached);
      for (const host of reached) {
        clock += 1000 + Math.floor(random() * 60_000);
        const status = pick(["Success", "Success", "Success", "Failed", "TimedOut", "InProgress"]);
        await updateHostRun(db, `${id}-${attempt}-${host.instanceId}`, { status, ...(status === "InProgress" ? {} : { finishedAt: new Date(clock) }) });
      }
    }
  }
}

function tempFile() {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-live-")), "history.db");
}

describe("what is live (LiveService, kept by triggers)", () => {
  it("agrees with the old computation over a varied history, in every environment, and after a run is removed", async () => {
    const db = openDatabase(tempFile());
    try {
      await varyHistory(db, 7, 150);
      for (const environment of ["prod", "dev", "nowhere"]) {
        const expected = plain(await oldLiveAndTargets(db, environment));
        expect(plain(await liveAndRollbackTargets(db, environment)), environment).toEqual(expected);
        expect(plain({ live: await liveBundles(db, environment), targets: new Map() }).live).toEqual(expected.live);
      }
      expect(Object.keys(plain(await liveAndRollbackTargets(db, "prod")).targets).length).toBeGreaterThan(2);
      expect(Object.values(plain(await liveAndRollbackTargets(db, "prod")).targets).some((t) => t.previous !== null)).toBe(true);
      for (const environment of ["prod", "dev", "nowhere"]) expect(Object.fromEntries(await lastRunPerHost(db, environment, HOST_IDS)), `last runs in ${environment}`).toEqual(await oldLastRunPerHost(db, environment));
      // Remove the deploy that is live somewhere: what was live before it comes back.
      const liveDeploy = [...(await liveBundles(db, "prod")).values()][0]!.values().next().value!.deployId;
      await db.hostRun.deleteMany({ where: { deployId: liveDeploy } });
      expect(plain(await liveAndRollbackTargets(db, "prod"))).toEqual(plain(await oldLiveAndTargets(db, "prod")));
      expect(JSON.stringify(plain(await liveAndRollbackTargets(db, "prod")))).not.toContain(`"${liveDeploy}"`);
      // …and the last run per host falls back too, even when the deploy itself goes (a cascade).
      const newest = (await db.deploy.findFirst({ where: { environment: "prod", hostRuns: { some: {} } }, orderBy: { createdAt: "desc" } }))!.id;
      await db.deploy.delete({ where: { id: newest } });
      expect(Object.fromEntries(await lastRunPerHost(db, "prod", HOST_IDS))).toEqual(await oldLastRunPerHost(db, "prod"));
      expect(JSON.stringify(Object.fromEntries(await lastRunPerHost(db, "prod", HOST_IDS)))).not.toContain(newest);
    } finally {
      await db.$disconnect();
    }
  });

  it("is backfilled by the migration from history recorded before it", async () => {
    const file = tempFile();
    const earlier = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-migrations-"));
    const all = fs.readdirSync(MIGRATIONS_DIR).sort();
    const liveMigration = all.indexOf("20261123180000_live_and_search");
    expect(liveMigration).toBeGreaterThan(0);
    for (const name of all.slice(0, liveMigration)) fs.cpSync(path.join(MIGRATIONS_DIR, name), path.join(earlier, name), { recursive: true });
    migrateDatabase(file, earlier);
    // History written by the writers of the time (no triggers yet), with raw SQL like the old schema.
    const raw = new Database(file);
    const at = (minute: number) => new Date(Date.UTC(2026, 5, 1, 0, minute)).toISOString().replace("Z", "+00:00");
    const deploy = raw.prepare(`INSERT INTO Deploy (id, environment, kind, services, label, bundleKey, bundleBucket, script, status, createdBy, createdAt) VALUES (?, 'prod', ?, ?, 'x', ?, 'b', '', 'succeeded', 'me', ?)`);
    const run = raw.prepare(`INSERT INTO HostRun (id, deployId, attempt, instanceId, hostName, status, stdout, startedAt, finishedAt) VALUES (?, ?, 1, ?, 'h', ?, ?, ?, ?)`);
    deploy.run("d1", "deploy", '["ui","audit"]', "k1", at(0));
    run.run("r1a", "d1", "i-a", "Success", "==> extracted ui bundle", at(1), at(2));
    run.run("r1b", "d1", "i-b", "Success", "==> extracted ui bundle", at(1), at(3));
    deploy.run("d2", "deploy", '["ui"]', "k2", at(10));
    run.run("r2a", "d2", "i-a", "Success", "quokka printed this", at(11), at(12));
    run.run("r2b", "d2", "i-b", "Failed", "boom", at(11), at(13));
    deploy.run("d3", "deploy", "not json", "k3", at(20)); // unreadable services stop nothing
    run.run("r3a", "d3", "i-a", "Success", "", at(21), at(22));
    raw.close();
    const before = openDatabase(file); // applies the remaining migrations, backfill included
    try {
      const expected = plain(await oldLiveAndTargetsSafe(before));
      expect(plain(await liveAndRollbackTargets(before, "prod"))).toEqual(expected);
      expect(expected.live["i-a"]!.ui!.bundleKey).toBe("k2");
      expect(expected.targets.ui!.previous!.bundleKey).toBe("k1");
      expect(Object.fromEntries(await lastRunPerHost(before, "prod", ["i-a", "i-b"]))).toMatchObject({ "i-a": { deployId: "d3", status: "Success" }, "i-b": { deployId: "d2", status: "Failed" } });
      // the search index is backfilled too
      const check = new Database(file, { readonly: true });
      expect(check.prepare(`SELECT r.hostRunId FROM HostRunOutput f JOIN OutputSearchRow r ON r.id = f.rowid WHERE HostRunOutput MATCH 'quokka'`).pluck().all()).toEqual(["r2a"]);
      check.close();
    } finally {
      await before.$disconnect();
    }
  });

  it("keeps the output search index in step with every insert, update and delete of a host run", async () => {
    const file = tempFile();
    const db = openDatabase(file);
    try {
      await insertDeploy(db, { id: "d1", environment: "prod", kind: "deploy", services: ["ui"], label: "ui", bundleKey: "k", bundleBucket: "b", createdBy: "me" });
      await createHostRuns(db, "d1", 1, "c", [{ instanceId: "i-a", name: "EC2 a" }, { instanceId: "i-b", name: "EC2 b" }]);
      const raw = new Database(file, { readonly: true });
      const search = (q: string) => raw.prepare(`SELECT r.hostRunId FROM HostRunOutput f JOIN OutputSearchRow r ON r.id = f.rowid WHERE HostRunOutput MATCH ? ORDER BY r.hostRunId`).pluck().all(q);
      expect(search("pelican")).toEqual([]);
      await updateHostRun(db, "d1-1-i-a", { stdout: "==> pulling pelican image", stderr: "warning: zebra" });
      await updateHostRun(db, "d1-1-i-b", { stdout: "pelican too" });
      expect(search("pelican")).toEqual(["d1-1-i-a", "d1-1-i-b"]);
      expect(search("zebra")).toEqual(["d1-1-i-a"]);
      await updateHostRun(db, "d1-1-i-a", { stdout: "now only ostrich", stderr: "" });
      expect(search("pelican")).toEqual(["d1-1-i-b"]);
      expect(search("zebra")).toEqual([]);
      expect(search("ostrich")).toEqual(["d1-1-i-a"]);
      await db.hostRun.delete({ where: { id: "d1-1-i-b" } });
      expect(search("pelican")).toEqual([]);
      expect(raw.prepare(`SELECT count(*) FROM OutputSearchRow`).pluck().get()).toBe(1);
      // the index is consistent with its content (FTS5's own check)
      raw.close();
      const rw = new Database(file);
      rw.prepare(`INSERT INTO HostRunOutput (HostRunOutput, rank) VALUES ('integrity-check', 1)`).run();
      rw.close();
    } finally {
      await db.$disconnect();
    }
  });
});

async function oldLiveAndTargetsSafe(db: Db) {
  // The old computation threw on unreadable services JSON; the table skips such a deploy.
  const broken = await db.deploy.findMany({ where: { services: { not: { startsWith: "[" } } }, select: { id: true } });
  await db.deploy.updateMany({ where: { id: { in: broken.map((d) => d.id) } }, data: { services: "[]" } });
  return oldLiveAndTargets(db, "prod");
}
