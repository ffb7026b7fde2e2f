import { ListCommandsCommand } from "@aws-sdk/client-ssm";
import { environmentOf } from "../config/load";
import { changeStatus, createHostRuns, getDeploy, recordEvent, updateDeploy } from "../history/deploys";
import type { DeployContext } from "./context";
import { watchJob } from "./plans";
import { continueJob } from "./runner";
import { statusWords, type DeployStatus } from "./status";

/**
 * A deploy a dead process left in "sending" may or may not have reached SSM: look for its command
 * (by the comment Deckhand gives every command) before declaring it unsent.
 */
async function findSentCommand(ctx: DeployContext, deploy: { id: string; environment: string; createdAt: Date }) {
  const environment = environmentOf(ctx.config, deploy.environment);
  const ssm = ctx.aws(environment.region).ssm;
  let nextToken: string | undefined;
  let pages = 0;
  do {
    const page = await ssm.send(new ListCommandsCommand({ Filters: [{ key: "InvokedAfter", value: new Date(deploy.createdAt.getTime() - 60_000).toISOString().replace(/\.\d{3}Z$/, "Z") }], MaxResults: 50, NextToken: nextToken }));
    const found = (page.Commands ?? []).find((command) => command.Comment?.startsWith(`Deckhand ${deploy.id}`));
    if (found) return found;
    nextToken = page.NextToken;
  } while (nextToken && ++pages < 20);
  return null;
}

async function resumeOne(ctx: DeployContext, entry: { id: string; status: string; commandId: string | null }): Promise<void> {
  const deploy = await getDeploy(ctx.db, entry.id);
  if (!deploy) return;
  if (deploy.status === "running" && deploy.commandId) {
    await recordEvent(ctx.db, deploy.id, "state", "Deckhand restarted: resuming the watch of the SSM command");
    void continueJob(ctx, watchJob(ctx.config, deploy.id, deploy.environment, "running"));
    return;
  }
  if (deploy.status === "sending") {
    const sent = await findSentCommand(ctx, deploy);
    if (sent?.CommandId) {
      const attempt = Number(/attempt (\d+)/.exec(sent.Comment ?? "")?.[1] ?? deploy.attempt);
      const hosts = environmentOf(ctx.config, deploy.environment).hosts.filter((h) => (sent.InstanceIds ?? []).includes(h.instanceId));
      await createHostRuns(ctx.db, deploy.id, attempt, sent.CommandId, hosts);
      await changeStatus(ctx.db, deploy.id, { from: "sending", to: "running", message: `Deckhand restarted: SSM has command ${sent.CommandId} for this deploy, so it was sent; watching it`, data: { commandId: sent.CommandId, attempt } });
      void continueJob(ctx, watchJob(ctx.config, deploy.id, deploy.environment, "running"));
      return;
    }
  }
  const message = `Deckhand stopped while this deploy was ${statusWords(deploy.status)}; nothing was sent to the hosts${deploy.status === "sending" ? " (SSM has no command for it)" : ""}.`;
  await changeStatus(ctx.db, deploy.id, { from: deploy.status as DeployStatus, to: "failed", message, data: { error: message } });
}

/** Picks up deploys a previous server process left in flight. */
export async function resumeUnfinishedDeploys(ctx: DeployContext, unfinished: { id: string; status: string; commandId: string | null }[]): Promise<void> {
  for (const entry of unfinished) {
    try {
      await resumeOne(ctx, entry);
    } catch (error) {
      console.error(`[deckhand] could not resume deploy ${entry.id}:`, error);
      await updateDeploy(ctx.db, entry.id, { error: `could not be resumed after a restart: ${(error as Error).message}` }).catch(() => undefined);
    }
  }
}
