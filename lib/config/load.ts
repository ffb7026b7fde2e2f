import fs from "node:fs/promises";
import path from "node:path";
import type { z } from "zod";
import { NotConfiguredError, NotFoundError } from "../errors";
import { configSchema, type DeckhandConfig, type EnvironmentConfig } from "./schema";

/** A config problem that names the file and the field, for the operator. */
export class ConfigError extends NotConfiguredError {
  constructor(
    readonly file: string,
    readonly problems: { field: string; message: string }[],
  ) {
    super(`${file}: ` + problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join("; "));
    this.name = "ConfigError";
  }
}

export interface LoadedConfig extends DeckhandConfig {
  /** The config file it came from, for messages. */
  file: string;
}

function fieldName(issuePath: readonly PropertyKey[]): string {
  return issuePath.reduce<string>((acc, part) => (typeof part === "number" ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)), "");
}

export function parseConfig(raw: unknown, file: string): LoadedConfig {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      file,
      parsed.error.issues.map((issue: z.core.$ZodIssue) => ({ field: fieldName(issue.path), message: issue.message })),
    );
  }
  const config = parsed.data;
  // A relative repo is relative to the config file, so a config can travel with its repo.
  const repo = path.resolve(path.dirname(file), config.repo);
  return { ...config, repo, file };
}

export async function loadConfig(file: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(file, [{ field: "", message: code === "ENOENT" ? "file not found" : `cannot read (${code})` }]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(file, [{ field: "", message: `not valid JSON: ${(error as Error).message}` }]);
  }
  const config = parseConfig(raw, file);
  const stat = await fs.stat(config.repo).catch(() => null);
  if (!stat?.isDirectory()) throw new ConfigError(file, [{ field: "repo", message: `${config.repo} is not a directory` }]);
  return config;
}

/** Where the config lives: DECKHAND_CONFIG, else ./deckhand.config.json when it exists. */
export async function findConfigFile(cwd = process.cwd()): Promise<string | null> {
  if (process.env.DECKHAND_CONFIG) return path.resolve(cwd, process.env.DECKHAND_CONFIG);
  const candidate = path.join(cwd, "deckhand.config.json");
  return (await fs.stat(candidate).catch(() => null)) ? candidate : null;
}

/** Where a deploy puts the bundle's files on a host: the repo checkout, or a systemd profile's serviceDir. */
export function deployedFilesRoot(environment: EnvironmentConfig): string {
  return environment.profile === "systemd" && environment.systemd ? environment.systemd.serviceDir : environment.repoPath;
}

export function environmentOf(config: LoadedConfig, name: string) {
  // Own keys only: "constructor" or "__proto__" must not find Object.prototype's members.
  const environment = Object.hasOwn(config.environments, name) ? config.environments[name] : undefined;
  if (!environment) throw new NotFoundError(`No environment "${name}" in ${config.file} (known: ${Object.keys(config.environments).join(", ")}).`);
  return environment;
}
