import { whoAmI } from "../bundle/pack";
import { environmentOf } from "../config/load";
import { InvalidInputError, NotFoundError } from "../errors";
import { actionScript } from "../remote/action-script";
import type { DeployContext } from "./context";
import { newDeployId } from "./deploy";
import { actionJob } from "./plans";
import { launch } from "./runner";

export interface RunbookRequest {
  environment: string;
  action: string;
  /** The host to run it on; required for an action configured for "one" host. */
  instanceId?: string;
}

/**
 * A runbook action from the config (seeds/000's Docker DNS fix, seeds/004's redeploy script) through
 * SSM on one host or all: recorded in history as a deploy of kind "action", watched and shown the same way.
 */
export async function startRunbookAction(ctx: DeployContext, request: RunbookRequest): Promise<string> {
  const environment = environmentOf(ctx.config, request.environment);
  const action = Object.hasOwn(environment.actions, request.action) ? environment.actions[request.action] : undefined;
  if (!action) throw new NotFoundError(`No action "${request.action}" in environment ${request.environment} (known: ${Object.keys(environment.actions).join(", ") || "none"}).`);
  const hosts = action.hosts === "all" ? environment.hosts : environment.hosts.filter((h) => h.instanceId === request.instanceId);
  if (hosts.length === 0) throw new InvalidInputError(`Action "${request.action}" runs on one host: pick one of ${environment.hosts.map((h) => h.name).join(", ")}.`, { instanceId: "pick a host" });
  const script = actionScript({ name: request.action, repoPath: environment.repoPath, dir: action.dir, command: action.command, runAs: action.runAs });
  const id = newDeployId(`action-${request.action}`);
  const insert = {
    id,
    environment: request.environment,
    kind: "action",
    services: [request.action],
    label: request.action,
    bundleKey: "",
    bundleBucket: environment.bucket,
    createdBy: whoAmI(),
    script,
  };
  return launch(ctx, actionJob(ctx.config, id, request.environment, hosts.map(({ instanceId, name }) => ({ instanceId, name }))), { insert });
}
