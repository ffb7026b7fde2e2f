import { makeAwsClients, type AwsClients } from "../aws/clients";
import type { LoadedConfig } from "../config/load";
import type { Db } from "../history/db";

/** What the engine needs: the operator's config, the history database and AWS clients. */
export interface DeployContext {
  config: LoadedConfig;
  db: Db;
  aws(region: string): AwsClients;
  /** How often the watcher polls SSM (ms); the first poll comes sooner. */
  pollIntervalMs?: number;
  /** How long the watcher keeps trying through failing cycles before it reports lost contact. */
  giveUpAfterMs?: number;
  /** How long live output is still read after the last host ended (CloudWatch makes events searchable late). */
  liveTailGraceMs?: number;
  /** Lifetime of the environment's bucket lock; renewed every third of it while a job runs. */
  lockTtlMs?: number;
}

export interface ContextOptions {
  pollIntervalMs?: number;
  giveUpAfterMs?: number;
  liveTailGraceMs?: number;
  lockTtlMs?: number;
}

export function createDeployContext(config: LoadedConfig, db: Db, options: ContextOptions = {}): DeployContext {
  const clients = new Map<string, AwsClients>();
  return {
    config,
    db,
    ...options,
    aws(region) {
      let found = clients.get(region);
      if (!found) clients.set(region, (found = makeAwsClients(region)));
      return found;
    },
  };
}
