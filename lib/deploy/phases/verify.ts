import { makeElbClient } from "../../aws/clients";
import { verifyDeploy, type VerifyResult } from "../../checks/verify";
import { recordCheckRun } from "../../history/checks";
import { recordEvent, requireDeploy } from "../../history/deploys";
import type { DeployContext } from "../context";
import { candidateBundles } from "../read-hosts";
import type { Job, Phase } from "../job";

/** One line for the deploy's error and the lists: the failing checks and the hosts that serve something else. */
export function verifySummary(result: VerifyResult): string {
  if (result.ok) return `all ${result.checks.length} checks green; every host has the deployed bundle`;
  const failing = result.checks.filter((c) => !c.ok).map((c) => `${c.name}${c.problem ? `: ${c.problem}` : ""}${c.failingHosts.length ? ` (${c.failingHosts.join(", ")})` : ""}`);
  const wrong = result.hosts.filter((h) => result.wrongHosts.some((w) => w.instanceId === h.instanceId)).map((h) => `${h.name} does not serve the deployed bundle — ${h.summary.join("; ")}`);
  const unverified = result.unverifiedHosts.map((h) => `could not read what ${h.name} has (${h.problem})`);
  return ["deployed, checks failed", ...failing, ...wrong, ...unverified].join(" · ");
}

/** Runs verification for the job's deploy and records it; the deploy ends "checks failed" when it is not green. */
export async function verifyAndRecord(ctx: DeployContext, job: Job, trigger: "deploy" | "rerun"): Promise<VerifyResult> {
  const deploy = await requireDeploy(ctx.db, job.deployId);
  const services = JSON.parse(deploy.services) as string[];
  const candidates = await candidateBundles(ctx, job.environmentName, { first: [deploy.bundleKey] });
  const deployed = candidates.find((c) => c.key === deploy.bundleKey) ?? null;
  const result = await verifyDeploy({
    environment: job.environment,
    services: ctx.config.services,
    ssm: ctx.aws(job.environment.region).ssm,
    elb: job.environment.targetGroupArn ? makeElbClient(job.environment.region) : null,
    deployed: deployed ? { bundle: deployed, services } : null,
    candidates,
    env: process.env,
    onCheck: (check) => void recordEvent(ctx.db, job.deployId, "verify", `${check.ok ? "✓" : "✗"} ${check.name}${check.problem ? `: ${check.problem}` : ""}`).catch(() => undefined),
  });
  const summary = verifySummary(result);
  await recordCheckRun(ctx.db, { deployId: job.deployId, trigger, ok: result.ok, checks: result.checks, hosts: result.hosts, wrongHosts: result.wrongHosts, targets: result.targets, summary });
  return result;
}

/** After every host succeeded (or on demand): smoke checks, each host's own truth through SSM, ALB target health. */
export function verifyPhase(trigger: "deploy" | "rerun"): Phase {
  return {
    name: "verify",
    status: "verifying",
    describe: () => (trigger === "rerun" ? "checks run again on demand" : "running the smoke checks and reading what each host really has"),
    async run(ctx: DeployContext, job: Job) {
      const result = await verifyAndRecord(ctx, job, trigger);
      if (!result.ok) {
        const summary = verifySummary(result);
        return { end: "checks_failed", message: summary, error: summary };
      }
    },
  };
}
