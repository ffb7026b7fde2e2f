import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { openDatabase } from "./db";
import { appendOutput, createHostRuns, currentHostRuns, getDeployDetail, insertDeploy, recordEvent, updateHostRun } from "./deploys";
import { listDeploys } from "./list";
import { migrateDatabase } from "./migrate";

describe("history database", () => {
  it("migrates an empty database once and round-trips every model through Prisma", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-db-")), "history.db");
    const migrations = fs.readdirSync(path.resolve(import.meta.dirname, "../../prisma/migrations")).sort();
    expect(migrations[0]).toBe("20261123000000_init");
    expect(migrateDatabase(file)).toEqual(migrations);
    expect(migrateDatabase(file)).toEqual([]); // idempotent

    const db = openDatabase(file);
    try {
      await insertDeploy(db, { id: "d1", environment: "prod", kind: "deploy", services: ["audit"], label: "audit", bundleKey: "deployments/acp_audit_1.tar.gz", bundleBucket: "b", createdBy: "me@laptop", reviewScript: true, revertsDeployId: null });
      await recordEvent(db, "d1", "upload", "halfway", { bytes: 5, total: 10 });
      await createHostRuns(db, "d1", 1, "cmd-1", [{ instanceId: "i-0123456789abcdef0", name: "EC2 a" }, { instanceId: "i-0123456789abcdef1", name: "EC2 b" }]);
      await updateHostRun(db, "d1-1-i-0123456789abcdef0", { status: "Failed", responseCode: 2, stderr: "boom", stderrTruncated: true, finishedAt: new Date() });
      await createHostRuns(db, "d1", 2, "cmd-2", [{ instanceId: "i-0123456789abcdef0", name: "EC2 a" }]);
      await appendOutput(db, [{ hostRunId: "d1-2-i-0123456789abcdef0", stream: "stdout", text: "==> cd" }]);

      const detail = await getDeployDetail(db, "d1");
      expect(detail).toMatchObject({ services: '["audit"]', status: "queued", reviewScript: true, attempt: 1 });
      expect(detail?.events[0]).toMatchObject({ phase: "upload", bytes: 5, total: 10 });
      expect(detail?.hostRuns.map((r) => [r.attempt, r.hostName, r.status])).toEqual([[1, "EC2 a", "Failed"], [1, "EC2 b", "Pending"], [2, "EC2 a", "Pending"]]);
      expect(detail?.hostRuns[0]).toMatchObject({ responseCode: 2, stderr: "boom", stderrTruncated: true });
      expect(detail?.hostRuns[2].chunks[0]).toMatchObject({ stream: "stdout", text: "==> cd" });
      expect(detail?.hostRuns[0].finishedAt).toBeInstanceOf(Date);
      // a retry replaces only the host it reran
      expect((await currentHostRuns(db, "d1")).map((r) => [r.hostName, r.attempt])).toEqual([["EC2 a", 2], ["EC2 b", 1]]);
      expect((await listDeploys(db)).deploys.map((d) => d.id)).toEqual(["d1"]);
    } finally {
      await db.$disconnect();
    }

    // Every column of schema.prisma exists in the SQL (and no more): the two cannot drift apart.
    const raw = new Database(file);
    const schema = fs.readFileSync(path.resolve(import.meta.dirname, "../../prisma/schema.prisma"), "utf8");
    const models = [...schema.matchAll(/^model (\w+) \{/gm)].map((m) => m[1]);
    expect(models).toEqual(expect.arrayContaining(["Deploy", "HostRun", "OutputChunk", "DeployEvent", "CheckRun", "LockBreak"]));
    for (const model of models) {
      const block = new RegExp(`model ${model} \\{([\\s\\S]*?)\\n\\}`).exec(schema)![1];
      const scalarFields = block
        .split("\n")
        .map((line) => line.trim().split(/\s+/))
        .filter(([name, type]) => name && !name.startsWith("//") && !name.startsWith("@@") && type && /^(String|Int|Boolean|DateTime)\??$/.test(type))
        .map(([name]) => name)
        .sort();
      const columns = (raw.prepare(`PRAGMA table_info("${model}")`).all() as { name: string }[]).map((c) => c.name).sort();
      expect(columns, model).toEqual(scalarFields);
    }
    // ...and every table is a model, except on purpose the full-text index of host output: an FTS5 virtual
    // table (with its shadow tables) that Prisma cannot express; its triggers are tested in live.test.ts.
    const fullText = /^HostRunOutput(_data|_idx|_docsize|_config|_content)?$/;
    const tables = raw.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_prisma_migrations'`).pluck().all() as string[];
    expect(tables.filter((t) => fullText.test(t)).length).toBeGreaterThan(0);
    expect(tables.filter((t) => !fullText.test(t)).sort()).toEqual([...models].sort());
    raw.close();
  });
});
