import { isLastingAwsError } from "../../aws/errors";
import { parseCursor, tailCommandOutput } from "../../aws/logs";
import { appendOutput, recordEvent, updateDeploy } from "../../history/deploys";
import type { DeployContext } from "../context";
import type { Job } from "../job";
import { failureMessage } from "../runner";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Lines kept per host run from the live tail; past it one note says where the rest is. */
export const LIVE_LINES_PER_HOST = 5_000;
/** While lines are flowing the tail is read again this soon (CloudWatch's FilterLogEvents quota is 5 per second). */
export const EAGER_TAIL_MS = 300;
/** Once nothing arrived for this long, output is quiet (the agent uploads about once a second: gaps between its batches are not quiet). */
export const FLOWING_FOR_MS = 3_000;
/** When quiet, the next read waits this long (still well inside a backed-off status poll). */
export const QUIET_TAIL_MS = 1_000;

/**
 * Live output from CloudWatch Logs, kept apart from the status poll: live output is a bonus, status
 * is the truth. A lasting error (no logs:FilterLogEvents) turns live output off with one message;
 * a passing one is noted once and retried on the next cycle.
 */
export class LiveTail {
  private off = false;
  private lastProblem: string | null = null;
  private stored = new Map<string, number>();
  /** When a read last brought lines: while recent, the next read comes sooner (see follow). */
  private lastLinesAt = 0;

  constructor(
    private readonly ctx: DeployContext,
    private readonly job: Job,
    private readonly logGroup: string | undefined,
  ) {}

  get enabled(): boolean {
    return Boolean(this.logGroup) && !this.off;
  }

  /**
   * Fills the wait between two status polls with tail reads: every EAGER_TAIL_MS while lines arrived in
   * the last FLOWING_FOR_MS, every QUIET_TAIL_MS otherwise. Costs no SSM call; returns the lines read.
   */
  async follow(waitMs: number, commandIds: string[], runs: { id: string; instanceId: string }[]): Promise<number> {
    const end = Date.now() + waitMs;
    let total = 0;
    for (;;) {
      const left = end - Date.now();
      if (left <= 0) return total;
      const next = Date.now() - this.lastLinesAt < FLOWING_FOR_MS ? EAGER_TAIL_MS : QUIET_TAIL_MS;
      if (!this.enabled || next >= left) {
        await sleep(left);
        return total;
      }
      await sleep(next);
      for (const commandId of commandIds) total += await this.read(commandId, runs);
    }
  }

  /** Reads new lines for the command's hosts; returns how many arrived. Never throws. */
  async read(commandId: string, runs: { id: string; instanceId: string }[]): Promise<number> {
    if (!this.enabled) return 0;
    const { ctx, job } = this;
    try {
      const deploy = await ctx.db.deploy.findUnique({ where: { id: job.deployId }, select: { liveCursor: true } });
      const result = await tailCommandOutput(ctx.aws(job.environment.region).logs, this.logGroup!, commandId, parseCursor(deploy?.liveCursor ?? null));
      const byInstance = new Map(runs.map((run) => [run.instanceId, run.id]));
      await appendOutput(ctx.db, this.withinCap(result.lines.flatMap((line) => (byInstance.has(line.instanceId) ? [{ hostRunId: byInstance.get(line.instanceId)!, stream: line.stream, text: line.text }] : []))));
      await updateDeploy(ctx.db, job.deployId, { liveCursor: JSON.stringify(result.cursor) });
      this.lastProblem = null;
      if (result.lines.length > 0) this.lastLinesAt = Date.now();
      return result.lines.length;
    } catch (error) {
      await this.problem(error);
      return 0;
    }
  }

  /**
   * After the last host ended: the agent's last batch, and events CloudWatch makes searchable a few
   * seconds late, still arrive. Reads until a quiet read past the grace period (at most twice it).
   */
  async drain(commandIds: string[], runs: { id: string; instanceId: string }[]): Promise<void> {
    if (!this.enabled) return;
    const grace = this.ctx.liveTailGraceMs ?? 4000;
    const started = Date.now();
    for (;;) {
      let arrived = 0;
      for (const commandId of commandIds) arrived += await this.read(commandId, runs);
      const elapsed = Date.now() - started;
      if ((arrived === 0 && elapsed >= grace) || elapsed >= 2 * grace || !this.enabled) return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  private withinCap(chunks: { hostRunId: string; stream: string; text: string }[]) {
    const kept: typeof chunks = [];
    for (const chunk of chunks) {
      const count = (this.stored.get(chunk.hostRunId) ?? 0) + 1;
      this.stored.set(chunk.hostRunId, count);
      if (count <= LIVE_LINES_PER_HOST) kept.push(chunk);
      else if (count === LIVE_LINES_PER_HOST + 1) kept.push({ hostRunId: chunk.hostRunId, stream: "status", text: `live output past ${LIVE_LINES_PER_HOST} lines is not stored here; the final output (and S3, when configured) has the rest` });
    }
    return kept;
  }

  private async problem(error: unknown) {
    const message = failureMessage(error, "reading live output from CloudWatch Logs");
    if (isLastingAwsError(error)) {
      this.off = true;
      await recordEvent(this.ctx.db, this.job.deployId, "watch", `${message} Live output is off for this deploy; status and final output still come from SSM.`);
    } else if (message !== this.lastProblem) {
      this.lastProblem = message;
      await recordEvent(this.ctx.db, this.job.deployId, "watch", `${message} (live output will be retried)`);
    }
  }
}
