import { ConfigError, findConfigFile, loadConfig, type LoadedConfig } from "../config/load";
import { createDeployContext, type DeployContext } from "./context";
import { resumeUnfinishedDeploys } from "./resume";
import { NotConfiguredError } from "../errors";
import { openDatabase, type Db } from "../history/db";
import { listUnfinishedDeploys } from "../history/deploys";

/**
 * The one DeployContext of this server process, kept on globalThis because
 * Next may load this module once per bundle (route handlers, server actions, instrumentation).
 */
interface DeckhandState {
  db: Db;
  ctx: DeployContext | null;
  configError: string | null;
  configFile: string | null;
  resumed: boolean;
}

const holder = globalThis as { __deckhand?: Promise<DeckhandState> };

async function initialise(): Promise<DeckhandState> {
  const db = openDatabase();
  const configFile = await findConfigFile();
  if (!configFile) {
    return { db, ctx: null, configFile: null, configError: "No config: set DECKHAND_CONFIG or create ./deckhand.config.json (npm start without one runs the sandbox).", resumed: false };
  }
  let config: LoadedConfig;
  try {
    config = await loadConfig(configFile);
  } catch (error) {
    if (error instanceof ConfigError) return { db, ctx: null, configFile, configError: error.message, resumed: false };
    throw error;
  }
  const pollIntervalMs = process.env.DECKHAND_POLL_MS ? Number(process.env.DECKHAND_POLL_MS) : undefined;
  const giveUpAfterMs = process.env.DECKHAND_GIVE_UP_MS ? Number(process.env.DECKHAND_GIVE_UP_MS) : undefined;
  return { db, ctx: createDeployContext(config, db, { pollIntervalMs, giveUpAfterMs }), configFile, configError: null, resumed: false };
}

export async function getDeckhand(): Promise<DeckhandState> {
  const state = await (holder.__deckhand ??= initialise());
  if (state.ctx && !state.resumed) {
    state.resumed = true;
    await resumeUnfinishedDeploys(state.ctx, await listUnfinishedDeploys(state.db));
  }
  return state;
}

/** The deploy context, or a ConfigError-style message for the operator. */
export async function requireContext(): Promise<DeployContext> {
  const state = await getDeckhand();
  if (!state.ctx) throw new NotConfiguredError(state.configError ?? "Deckhand is not configured.");
  return state.ctx;
}
