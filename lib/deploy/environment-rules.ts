// Rules an environment puts on who may start what (issue 12): production needs its name typed in,
// and a branch rule refuses a deploy made from another branch (seeds/002's `make deploy-dev`).
import type { GitInfo } from "../bundle/manifest";
import type { EnvironmentConfig } from "../config/schema";
import { isVersionLabel } from "../bundle/naming";
import { InvalidInputError, RefusedError } from "../errors";

/** A production environment's deploys and rollbacks carry its name, typed by the operator; anything else is refused. */
export function assertProductionConfirmed(environmentName: string, environment: Pick<EnvironmentConfig, "production">, confirmEnvironment: string | undefined): void {
  if (!environment.production) return;
  if (confirmEnvironment === environmentName) return;
  const message = confirmEnvironment
    ? `"${confirmEnvironment}" is not the environment's name: type ${environmentName} exactly to deploy to production.`
    : `${environmentName} is a production environment: type its name to confirm the deploy.`;
  throw new InvalidInputError(message, { confirmEnvironment: message });
}

/** A branch rule: the working tree (or the checkout packed) must be on the environment's branch. */
export function assertBranchAllowed(environmentName: string, environment: Pick<EnvironmentConfig, "branch">, git: GitInfo | null): void {
  if (!environment.branch) return;
  if (!git) throw new RefusedError(`${environmentName} deploys only from the "${environment.branch}" branch, and the repo's branch cannot be read (not a git repo?).`);
  if (git.branch !== environment.branch) {
    const on = git.branch === "HEAD" ? "a detached HEAD" : `branch "${git.branch}"`;
    throw new RefusedError(`${environmentName} deploys only from the "${environment.branch}" branch; the repo is on ${on}. Switch to ${environment.branch} (seeds/002: "Can only deploy-dev from dev branch").`);
  }
}

/** A version label given at deploy time: MAJOR.MINOR.PATCH-suffix, ending with the environment's suffix when it has one. */
export function assertVersionLabel(environmentName: string, environment: Pick<EnvironmentConfig, "versionSuffix">, version: string | undefined): void {
  if (version === undefined || version === "") return;
  const invalid = (message: string) => new InvalidInputError(message, { version: message });
  if (!isVersionLabel(version)) throw invalid(`"${version}" is not a version label: use MAJOR.MINOR.PATCH with an optional -suffix (e.g. 0.1.30-dev).`);
  if (environment.versionSuffix && !version.endsWith(`-${environment.versionSuffix}`)) {
    throw invalid(`Versions deployed to ${environmentName} must end with -${environment.versionSuffix} (seeds/002: "Version must end with -dev").`);
  }
}

/**
 * The environments whose hosts overlap this one's (the sandbox's production and sandbox environments share
 * both hosts): two deploys on them at once would race on the same machines, so the one-deploy-at-a-time
 * rule should hold across all of them. Includes the environment itself.
 */
export function environmentsSharingHosts(environments: Record<string, Pick<EnvironmentConfig, "hosts">>, name: string): string[] {
  const mine = new Set((environments[name]?.hosts ?? []).map((h) => h.instanceId));
  return Object.entries(environments)
    .filter(([other, env]) => other === name || env.hosts.some((h) => mine.has(h.instanceId)))
    .map(([other]) => other)
    .sort();
}
