import type { LoadedConfig } from "../config/load";
import type { EnvironmentConfig } from "../config/schema";
import { bundleLabel } from "../bundle/naming";

export class PlanError extends Error {
  name = "PlanError";
}

export interface BuildStep {
  service: string;
  command: string;
  /** Absolute directory the command runs in. */
  cwd: string;
}

/** What a deploy of some services means: one bundle, the paths in it, and the containers to rebuild. */
export interface DeployPlan {
  environment: string;
  services: string[];
  label: string;
  paths: string[];
  replace: string[];
  composeServices: string[];
  builds: BuildStep[];
}

const unique = (values: string[]) => [...new Set(values)];

/** Paths under another chosen path are dropped: tar would otherwise carry them twice. */
function withoutNested(paths: string[]): string[] {
  const sorted = unique(paths).sort();
  return sorted.filter((p) => !sorted.some((other) => other !== p && p.startsWith(other + "/")));
}

export function planDeploy(config: LoadedConfig, environment: string, services: string[]): DeployPlan {
  if (!config.environments[environment]) throw new PlanError(`No environment "${environment}" in ${config.file}`);
  if (services.length === 0) throw new PlanError("Pick at least one service to deploy.");
  const chosen = unique(services).sort();
  for (const name of chosen) {
    if (!config.services[name]) throw new PlanError(`No service "${name}" in ${config.file} (known: ${Object.keys(config.services).join(", ")})`);
  }
  const definitions = chosen.map((name) => config.services[name]);
  return {
    environment,
    services: chosen,
    label: bundleLabel(chosen),
    paths: withoutNested(definitions.flatMap((s) => s.paths)),
    replace: unique(definitions.flatMap((s) => s.replace)).sort(),
    composeServices: unique(definitions.flatMap((s) => s.compose)),
    builds: chosen.flatMap((name) => {
      const build = config.services[name].build;
      return build ? [{ service: name, command: build.command, cwd: build.dir ? `${config.repo}/${build.dir}` : config.repo }] : [];
    }),
  };
}

export function hostsOf(environment: EnvironmentConfig) {
  return environment.hosts.map((h) => ({ instanceId: h.instanceId, name: h.name }));
}
