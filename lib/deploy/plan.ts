import type { LoadedConfig } from "../config/load";
import { bundleLabel } from "../bundle/naming";
import { InvalidInputError } from "../errors";

export class PlanError extends InvalidInputError {}

export interface BuildStep {
  service: string;
  command: string;
  /** Absolute directory the command runs in. */
  cwd: string;
}

/** The services' part of a config that decides a deploy's shape (plain data, also used by the UI). */
export interface ServiceShape {
  paths: string[];
  replace: string[];
  compose: string[];
  /** Static files (a built UI): set in the config, or taken to be so when the service replaces a directory whole. */
  static?: boolean;
}

/** "static files" (the runbooks' UI-only deploy), "one service" or "several services" — from the config, never a name. */
export type ShapeKind = "static files" | "one service" | "several services";

export function isStaticService(service: ServiceShape): boolean {
  return service.static ?? service.replace.length > 0;
}

/** What deploying some services means: one bundle, the paths in it, and the containers to rebuild. */
export interface DeployShape {
  kind: ShapeKind;
  services: string[];
  label: string;
  paths: string[];
  replace: string[];
  composeServices: string[];
}

export interface DeployPlan extends DeployShape {
  environment: string;
  builds: BuildStep[];
  /** The version label given at deploy time (in the bundle key and manifest). */
  version?: string | null;
  /** A tag or commit to pack from a clean checkout of, instead of the working tree. */
  ref?: string;
  /** Where the files are packed (and builds run) from: a temporary checkout of `ref`; the repo when absent. */
  sourceDir?: string;
}

const unique = (values: string[]) => [...new Set(values)];

/** Paths under another chosen path are dropped: tar would otherwise carry them twice. */
function withoutNested(paths: string[]): string[] {
  const sorted = unique(paths).sort();
  return sorted.filter((p) => !sorted.some((other) => other !== p && p.startsWith(other + "/")));
}

/** Static files (UI-only), one service or several: all one mechanism, the union of what the chosen services own. */
export function deployShape(services: Record<string, ServiceShape>, chosen: string[]): DeployShape {
  const names = unique(chosen).sort();
  const definitions = names.map((name) => services[name]);
  const kind: ShapeKind = names.length > 1 ? "several services" : isStaticService(definitions[0]) ? "static files" : "one service";
  return {
    kind,
    services: names,
    label: bundleLabel(names),
    paths: withoutNested(definitions.flatMap((s) => s.paths)),
    replace: unique(definitions.flatMap((s) => s.replace)).sort(),
    composeServices: unique(definitions.flatMap((s) => s.compose)),
  };
}

export function planDeploy(config: LoadedConfig, environment: string, services: string[]): DeployPlan {
  const refuse = (field: string, message: string) => new PlanError(message, { [field]: message });
  // Own keys only: a name such as "constructor" must not find Object.prototype's members.
  if (!Object.hasOwn(config.environments, environment)) throw refuse("environment", `No environment "${environment}" in ${config.file}`);
  if (services.length === 0) throw refuse("services", "Pick at least one service to deploy.");
  for (const name of services) {
    if (!Object.hasOwn(config.services, name)) throw refuse("services", `No service "${name}" in ${config.file} (known: ${Object.keys(config.services).join(", ")})`);
  }
  const shape = deployShape(config.services, services);
  if (config.environments[environment].profile === "systemd") {
    // seeds/002's bundle: the host script needs VERSION and deploy/ at the bundle's root.
    const covers = (target: string) => shape.paths.some((p) => p === target || target.startsWith(p + "/"));
    if (!covers("VERSION") || !covers("deploy/systemd")) {
      throw refuse("services", `${environment} runs the systemd profile: a bundle there must carry VERSION and deploy/ (deploy/systemd/<unit>.service); ${shape.services.join(", ")} carry ${shape.paths.join(", ")}.`);
    }
  }
  return {
    ...shape,
    environment,
    builds: shape.services.flatMap((name) => {
      const build = config.services[name].build;
      return build ? [{ service: name, command: build.command, cwd: build.dir ? `${config.repo}/${build.dir}` : config.repo }] : [];
    }),
  };
}
