import { isLastingAwsError } from "../../aws/errors";
import { recordEvent, rewriteEvent } from "../../history/deploys";
import type { DeployContext } from "../context";
import { failureMessage } from "../runner";

/** Ten minutes of failing cycles and the watcher stops saying "still trying". */
export const GIVE_UP_AFTER_MS = 10 * 60_000;

/**
 * Failed watch cycles: an identical error is recorded once with a count, a lasting one (expired
 * credentials, AccessDenied) gives up at once, any other gives up after a bounded time.
 */
export class WatchTrouble {
  private since: number | null = null;
  private last: { message: string; count: number; eventId: number } | null = null;

  constructor(
    private readonly ctx: DeployContext,
    private readonly deployId: string,
  ) {}

  /** Records a failed cycle; returns the reason to give up, or null to keep trying. */
  async failed(error: unknown, context: string): Promise<string | null> {
    const message = failureMessage(error, context);
    this.since ??= Date.now();
    if (this.last?.message === message) {
      this.last.count++;
      await rewriteEvent(this.ctx.db, this.last.eventId, `${message} (×${this.last.count})`);
    } else {
      const event = await recordEvent(this.ctx.db, this.deployId, "watch", message);
      this.last = { message, count: 1, eventId: event.id };
    }
    if (isLastingAwsError(error)) return message;
    const limit = this.ctx.giveUpAfterMs ?? GIVE_UP_AFTER_MS;
    if (Date.now() - this.since >= limit) return `${message} — still failing after ${Math.round(limit / 1000)} s`;
    return null;
  }

  recovered(): void {
    this.since = null;
    this.last = null;
  }
}
