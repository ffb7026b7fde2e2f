import { isLastingAwsError } from "../../aws/errors";
import { hostStreamNames, parseCursor, tailCommandOutput, tailStreams } from "../../aws/logs";
import { appendOutput, recordEvent, updateDeploy } from "../../history/deploys";
import type { DeployContext } from "../context";
import type { Job } from "../job";
import { failureMessage } from "../runner";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Lines kept per host run from the live tail; past it one note says where the rest is. */
export const LIVE_LINES_PER_HOST = 5_000;
/** While lines are flowing the tail is read again this soon at the most (then as the call budget allows). */
export const EAGER_TAIL_MS = 200;
/**
 * Up to this many hosts in a command, each host's two streams are read directly with GetLogEvents (a
 * stream can be read as soon as the agent uploads; a search sees it seconds later). Past it, one
 * FilterLogEvents per read for the whole command: a bigger fleet costs no more calls, only latency.
 */
export const STREAM_TAIL_MAX_HOSTS = 3;
/**
 * Calls per second one deploy's tail may make while lines flow: well inside CloudWatch's account-wide
 * quotas (GetLogEvents 25/s, FilterLogEvents 5/s), which other laptops and the console share.
 */
export const TAIL_CALLS_PER_SECOND = { GetLogEvents: 10, FilterLogEvents: 10 / 3 } as const;
/**
 * A stream that brought nothing for FLOWING_FOR_MS (often stderr), or that the agent has not created
 * yet, is read only about this often: the eager reads go to the streams that are flowing.
 */
export const COLD_STREAM_MS = 1_000;
/** Once nothing arrived for this long, output is quiet (the agent uploads about once a second: gaps between its batches are not quiet). */
export const FLOWING_FOR_MS = 3_000;
/** When quiet, the next read waits this long (still well inside a backed-off status poll). */
export const QUIET_TAIL_MS = 1_000;

/** A host run the tail stores lines for; `commandId` says which command's streams are its own. */
export interface TailedRun {
  id: string;
  instanceId: string;
  commandId?: string | null;
}

/**
 * Live output from CloudWatch Logs, kept apart from the status poll: live output is a bonus, status
 * is the truth. A lasting error (no logs:GetLogEvents or logs:FilterLogEvents) turns live output off with one message;
 * a passing one is noted once and retried on the next cycle.
 */
export class LiveTail {
  private off = false;
  private lastProblem: string | null = null;
  private stored = new Map<string, number>();
  /** When a read last brought lines: while recent, the next read comes sooner (see follow). */
  private lastLinesAt = 0;
  /** How soon the next eager read may come, set by each read from what it found (see eagerWaitFor). */
  private eagerWait = EAGER_TAIL_MS;
  /** Per stream read directly: when it was last read and last brought lines (missing: never). */
  private streamReads = new Map<string, { readAt: number; linesAt: number }>();

  constructor(
    private readonly ctx: DeployContext,
    private readonly job: Job,
    private readonly logGroup: string | undefined,
  ) {}

  get enabled(): boolean {
    return Boolean(this.logGroup) && !this.off;
  }

  /**
   * Fills the wait between two status polls with tail reads: as soon as the call budget allows (at least
   * EAGER_TAIL_MS apart) while lines arrived in the last FLOWING_FOR_MS, every QUIET_TAIL_MS otherwise. Costs no SSM call; returns the lines read.
   */
  async follow(waitMs: number, commandIds: string[], runs: TailedRun[]): Promise<number> {
    const end = Date.now() + waitMs;
    let total = 0;
    for (;;) {
      const left = end - Date.now();
      if (left <= 0) return total;
      const next = Date.now() - this.lastLinesAt < FLOWING_FOR_MS ? this.eagerWait * commandIds.length : QUIET_TAIL_MS;
      if (!this.enabled || next >= left) {
        await sleep(left);
        return total;
      }
      await sleep(next);
      for (const commandId of commandIds) total += await this.read(commandId, runs);
    }
  }

  /**
   * The eager wait for a command read stream by stream: EAGER_TAIL_MS, or longer when reading every
   * flowing stream that often (and the cold ones once per COLD_STREAM_MS) would overspend the budget.
   */
  private eagerWaitFor(commandId: string, hosts: string[]): number {
    const now = Date.now();
    const streams = hosts.flatMap((instanceId) => hostStreamNames(commandId, instanceId));
    const flowing = streams.filter((name) => now - (this.streamReads.get(name)?.linesAt ?? -Infinity) < FLOWING_FOR_MS).length;
    // Cold streams take about one call each per COLD_STREAM_MS; the flowing ones share what is left.
    const left = Math.max(1, TAIL_CALLS_PER_SECOND.GetLogEvents - ((streams.length - flowing) * 1000) / COLD_STREAM_MS);
    return Math.max(EAGER_TAIL_MS, Math.ceil((flowing * 1000) / left));
  }

  /** The streams due now: the flowing ones, and the cold or missing ones once per COLD_STREAM_MS (all when draining). */
  private streamsDue(commandId: string, hosts: string[], every: boolean): string[] {
    const now = Date.now();
    // Slack of one eager wait, so a cold stream is not skipped by a read that comes a few ms early.
    const cold = COLD_STREAM_MS - EAGER_TAIL_MS;
    return hosts
      .flatMap((instanceId) => hostStreamNames(commandId, instanceId))
      .filter((name) => {
        const last = this.streamReads.get(name);
        return every || !last || now - last.linesAt < FLOWING_FOR_MS || now - last.readAt >= cold;
      });
  }

  /**
   * Reads new lines for the command's hosts; returns how many arrived. Never throws.
   * `everyStream` (the drain after the end) reads each stream, cold or missing ones too.
   */
  async read(commandId: string, runs: TailedRun[], everyStream = false): Promise<number> {
    if (!this.enabled) return 0;
    const { ctx, job } = this;
    try {
      const deploy = await ctx.db.deploy.findUnique({ where: { id: job.deployId }, select: { liveCursor: true } });
      const cursor = parseCursor(deploy?.liveCursor ?? null);
      const logs = ctx.aws(job.environment.region).logs;
      const hosts = runs.filter((run) => (run.commandId ?? commandId) === commandId).map((run) => run.instanceId);
      let result: Awaited<ReturnType<typeof tailCommandOutput>>;
      if (hosts.length <= STREAM_TAIL_MAX_HOSTS) {
        const now = Date.now();
        const streams = this.streamsDue(commandId, hosts, everyStream);
        const read = await tailStreams(logs, this.logGroup!, streams, cursor);
        for (const name of streams) {
          const linesAt = read.withLines.includes(name) ? now : (this.streamReads.get(name)?.linesAt ?? -Infinity);
          this.streamReads.set(name, { readAt: now, linesAt });
        }
        this.eagerWait = this.eagerWaitFor(commandId, hosts);
        result = read;
      } else {
        result = await tailCommandOutput(logs, this.logGroup!, commandId, cursor);
        this.eagerWait = Math.max(EAGER_TAIL_MS, Math.ceil(1000 / TAIL_CALLS_PER_SECOND.FilterLogEvents));
      }
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
  async drain(commandIds: string[], runs: TailedRun[]): Promise<void> {
    if (!this.enabled) return;
    const grace = this.ctx.liveTailGraceMs ?? 4000;
    const started = Date.now();
    for (;;) {
      let arrived = 0;
      for (const commandId of commandIds) arrived += await this.read(commandId, runs, true);
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
