// The state machine: every forbidden change is refused by the one writer, in SQLite, and changes nothing.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConflictError } from "../errors";
import { openDatabase, type Db } from "../history/db";
import { changeStatus, getDeployDetail, insertDeploy } from "../history/deploys";
import { ALLOWED_TRANSITIONS, canTransition, DEPLOY_STATUSES, deployOutcome, latestRunPerHost, type DeployStatus } from "./status";

let db: Db;
beforeAll(() => {
  db = openDatabase(path.join(fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-status-")), "history.db"));
});
afterAll(async () => db?.$disconnect());

let counter = 0;
/** A deploy put straight into `status` (the test's own set-up, through raw SQL: the engine could not). */
async function deployIn(status: DeployStatus): Promise<string> {
  const id = `t-${++counter}`;
  await insertDeploy(db, { id, environment: "e", kind: "deploy", services: ["audit"], label: "audit", bundleKey: `k/${id}`, bundleBucket: "b", createdBy: "test" });
  await db.$executeRawUnsafe(`UPDATE "Deploy" SET status = ? WHERE id = ?`, status, id);
  return id;
}

const forbidden = DEPLOY_STATUSES.flatMap((from) => DEPLOY_STATUSES.filter((to) => !canTransition(from, to)).map((to) => [from, to] as const));
const allowed = DEPLOY_STATUSES.flatMap((from) => ALLOWED_TRANSITIONS[from].map((to) => [from, to] as const));

describe("deploy status transitions", () => {
  it("every status has a row, and nothing moves to queued or out of itself", () => {
    for (const status of DEPLOY_STATUSES) {
      expect(ALLOWED_TRANSITIONS[status]).toBeDefined();
      expect(canTransition(status, status)).toBe(false);
      expect(canTransition(status, "queued")).toBe(false);
    }
    expect(forbidden.length).toBeGreaterThan(100);
  });

  it.each(forbidden)("refuses %s → %s and leaves the deploy as it was", async (from, to) => {
    const id = await deployIn(from);
    await expect(changeStatus(db, id, { from, to, message: "should not happen" })).rejects.toThrow(ConflictError);
    const after = await getDeployDetail(db, id);
    expect(after?.status).toBe(from);
    expect(after?.events).toHaveLength(0);
  });

  it.each(allowed)("allows %s → %s as a compare-and-set, recording its event, and only from that status", async (from, to) => {
    const id = await deployIn(from);
    await expect(changeStatus(db, id, { from, to, message: `${from} → ${to}` })).resolves.toBe(to);
    const after = await getDeployDetail(db, id);
    expect(after?.status).toBe(to);
    expect(after?.events.map((e) => [e.phase, e.message])).toEqual([["state", `${from} → ${to}`]]);
    // The same change again finds the deploy no longer in `from`: refused, saying what it is now.
    await expect(changeStatus(db, id, { from, to, message: "again" })).rejects.toThrow(new RegExp(`is ${to.replace(/_/g, " ")} now`));
  });

  it("sets finishedAt on an end state", async () => {
    const id = await deployIn("running");
    await changeStatus(db, id, { from: "running", to: "lost_contact", message: "gave up" });
    expect((await getDeployDetail(db, id))?.finishedAt).toBeInstanceOf(Date);
  });
});

describe("host outcomes", () => {
  it("decides a deploy's outcome only when every host has ended", () => {
    expect(deployOutcome(["Success", "InProgress"])).toBeNull();
    expect(deployOutcome(["Success", "Success"])).toBe("succeeded");
    expect(deployOutcome(["Success", "Failed"])).toBe("partially_failed");
    expect(deployOutcome(["TimedOut", "Failed"])).toBe("failed");
    expect(deployOutcome(["Cancelled", "Cancelled"])).toBe("cancelled");
    expect(deployOutcome(["Cancelling"])).toBeNull(); // Cancelling is not an end
  });

  it("takes the latest attempt per host", () => {
    const runs = [
      { instanceId: "i-b", hostName: "EC2 b", attempt: 1, status: "Success" },
      { instanceId: "i-a", hostName: "EC2 a", attempt: 1, status: "Failed" },
      { instanceId: "i-a", hostName: "EC2 a", attempt: 2, status: "Success" },
    ];
    expect(latestRunPerHost(runs).map((r) => [r.hostName, r.attempt])).toEqual([
      ["EC2 a", 2],
      ["EC2 b", 1],
    ]);
  });
});
