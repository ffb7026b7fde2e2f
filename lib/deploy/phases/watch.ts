import { isThrottling } from "../../aws/errors";
import { listInvocations } from "../../aws/ssm";
import { appendOutput, currentHostRuns, recordEvent, updateHostRun } from "../../history/deploys";
import type { DeployContext } from "../context";
import type { Job, Phase, PhaseOutcome } from "../job";
import { deployOutcome, isTerminalHostStatus } from "../status";
import { finishHostRun } from "./host-results";
import { LiveTail } from "./live-tail";
import { WatchTrouble } from "./watch-trouble";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** SSM lists a new invocation right away; a host it still does not list after this is given up on. */
const NEVER_LISTED_MS = 5 * 60_000;
/** Past delivery + execution timeout, SSM should have ended the host; this much more and contact is lost. */
const DEADLINE_MARGIN_MS = 2 * 60_000;

type HostRunRow = Awaited<ReturnType<typeof currentHostRuns>>[number];

/** The latest time SSM should have ended this host's run by (TimeoutSeconds + executionTimeout). */
export function hostDeadline(job: Job, run: Pick<HostRunRow, "startedAt">): number {
  return run.startedAt.getTime() + (job.environment.deliveryTimeoutSeconds + job.environment.executionTimeoutSeconds) * 1000 + DEADLINE_MARGIN_MS;
}

/**
 * The result reads of hosts that ended, in flight across poll cycles: each host's read runs on its
 * own (retried through throttling by the SDK), so a slow one never holds up the cycle or another host.
 */
class ResultReads {
  private inFlight = new Map<string, Promise<void>>();
  private changed = false;
  private giveUp: string | null = null;

  /** Starts reading a host's result unless a read for it is already out. */
  start(runId: string, read: () => Promise<void>, failed: (error: unknown) => Promise<string | null>): void {
    if (this.inFlight.has(runId)) return;
    const promise = read()
      .then(
        () => void (this.changed = true),
        async (error: unknown) => void (this.giveUp ??= await failed(error)), // read again next cycle
      )
      .finally(() => this.inFlight.delete(runId));
    this.inFlight.set(runId, promise);
  }

  /** Waits for the reads out, at most `maxMs`; says what they changed so far. */
  async settle(maxMs: number): Promise<{ changed: boolean; giveUp: string | null }> {
    if (this.inFlight.size > 0) await Promise.race([Promise.all(this.inFlight.values()), sleep(maxMs)]);
    const result = { changed: this.changed, giveUp: this.giveUp };
    this.changed = false;
    this.giveUp = null;
    return result;
  }

  /** Before the phase ends: no write lands after it. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight.values());
  }
}

/**
 * One status poll of one command: one ListCommandInvocations for all its hosts; each host that ended
 * gets its result read on its own (see ResultReads). A host whose result cannot be read now keeps its
 * status and is read again next cycle. Returns whether anything changed; throws only if the list failed.
 */
async function pollCommand(ctx: DeployContext, job: Job, commandId: string, open: HostRunRow[], trouble: WatchTrouble, reads: ResultReads): Promise<{ changed: boolean; giveUp: string | null }> {
  const invocations = await listInvocations(ctx.aws(job.environment.region).ssm, commandId);
  let changed = false;
  let giveUp: string | null = null;
  await Promise.all(
    open.map(async (run) => {
      const invocation = invocations.find((i) => i.InstanceId === run.instanceId);
      if (!invocation) {
        if (Date.now() - run.startedAt.getTime() > NEVER_LISTED_MS) {
          await updateHostRun(ctx.db, run.id, { status: "Failed", statusDetails: "SSM never listed an invocation for this host", responseCode: -1, finishedAt: new Date() });
          await appendOutput(ctx.db, [{ hostRunId: run.id, stream: "status", text: "Failed (SSM never listed an invocation for this host)" }]);
          changed = true;
        }
        return;
      }
      const status = invocation.Status ?? "Pending";
      const details = invocation.StatusDetails ?? null;
      if (status === run.status && details === run.statusDetails) return;
      const statusLine = { hostRunId: run.id, stream: "status", text: `${status}${details && details !== status ? ` (${details})` : ""}` };
      if (isTerminalHostStatus(status)) {
        reads.start(
          run.id,
          async () => {
            const notes = await finishHostRun(ctx, job.environment, run);
            for (const note of notes) await recordEvent(ctx.db, job.deployId, "watch", `${run.hostName}: ${note}`);
            await appendOutput(ctx.db, [statusLine]);
          },
          (error) => trouble.failed(error, `reading the result of ${run.hostName}`),
        );
        return;
      }
      await updateHostRun(ctx.db, run.id, { status, statusDetails: details });
      await appendOutput(ctx.db, [statusLine]);
      changed = true;
    }),
  );
  return { changed, giveUp };
}

/**
 * Watches the deploy's current attempt until every host has ended: status from SSM (one call per
 * cycle for all hosts), live lines from CloudWatch Logs when enabled, every change in SQLite as it
 * arrives. Safe to run again after a restart: everything it needs is stored.
 */
export const watchPhase: Phase = {
  name: "watch",
  status: "running",
  async run(ctx: DeployContext, job: Job): Promise<PhaseOutcome> {
    const base = ctx.pollIntervalMs ?? 1000;
    const interval = Math.min(base, 500); // the first answer comes quickly; then settle
    const trouble = new WatchTrouble(ctx, job.deployId);
    const live = new LiveTail(ctx, job, job.environment.output.cloudWatchLogGroup);
    const reads = new ResultReads();
    const outcome = await watchLoop(ctx, job, base, interval, trouble, live, reads);
    await reads.drain();
    return outcome;
  },
};

/** The poll cycles of the watch phase, until an end or lost contact. */
async function watchLoop(ctx: DeployContext, job: Job, base: number, interval: number, trouble: WatchTrouble, live: LiveTail, reads: ResultReads): Promise<PhaseOutcome> {
  for (;;) {
    const runs = await currentHostRuns(ctx.db, job.deployId);
    const open = runs.filter((run) => !isTerminalHostStatus(run.status));
    const commands = [...new Set(open.map((run) => run.commandId ?? ""))];
    let changed = false;
    let giveUp: string | null = null;
    try {
      for (const commandId of commands) {
        const polled = await pollCommand(ctx, job, commandId, open.filter((r) => r.commandId === commandId), trouble, reads);
        changed ||= polled.changed;
        giveUp ??= polled.giveUp;
        changed = (await live.read(commandId, runs)) > 0 || changed;
      }
      // Wait for the hosts' result reads up to one interval; a slower one lands in a later cycle.
      const settled = await reads.settle(base);
      changed ||= settled.changed;
      giveUp ??= settled.giveUp;
      if (!giveUp) trouble.recovered();
    } catch (error) {
      giveUp = await trouble.failed(error, "polling SSM");
      interval = Math.min(interval * 2, isThrottling(error) ? 15_000 : 10_000);
    }
    if (giveUp) return { end: "lost_contact", message: `lost contact: ${giveUp}. The hosts' last known states are kept; press Resume watching once it is fixed.`, error: giveUp };

    const finalRuns = await currentHostRuns(ctx.db, job.deployId);
    const outcome = deployOutcome(finalRuns.map((run) => run.status));
    if (outcome) {
      // Late live output keeps arriving after the end (the agent's last batch, CloudWatch's ingestion delay).
      // A failed host's output is read in full before the deploy ends; after a success, while the checks run.
      const draining = live.drain([...new Set(finalRuns.map((run) => run.commandId ?? ""))], finalRuns);
      if (outcome === "cancelled") {
        // A cancel frees the environment at once; what the hosts printed last is still stored after.
        (job.afterEnd ??= []).push(() => draining);
        return { end: outcome, message: "deploy cancelled" };
      }
      if (outcome !== "succeeded") {
        await draining;
        return { end: outcome, message: `deploy ${outcome.replace("_", " ")}` };
      }
      (job.beforeEnd ??= []).push(draining); // read while the checks run; in full before the deploy ends
      return; // succeeded on every host: the next phases (verify) decide the rest
    }
    const overdue = finalRuns.filter((run) => !isTerminalHostStatus(run.status) && Date.now() > hostDeadline(job, run));
    if (overdue.length > 0) {
      const names = overdue.map((run) => `${run.hostName} (${run.status})`).join(", ");
      return { end: "lost_contact", message: `lost contact: SSM has not ended ${names} past its delivery and execution timeouts`, error: `no end from SSM for ${names}` };
    }
    // Quiet cycles poll a little less often (fewer SSM calls on long builds); any change resets.
    if (changed) interval = base;
    else interval = Math.min(Math.round(interval * 1.5), base * 3);
    // The wait is filled with tail reads while lines flow (no SSM call); lines arriving count as a change.
    if ((await live.follow(interval, commands, runs)) > 0) interval = base;
  }
}
