import "server-only";
import { environmentOf } from "../config/load";
import { runSetupCheck, makeStsClient, type CheckLine } from "../setup/check";
import { requireContext } from "./deckhand";

/** The setup check for one environment: the laptop's side (identity, bucket, rules, permissions) and each host's pre-flight. */
export async function loadSetupCheck(environmentName: string): Promise<{ environment: string; laptop: CheckLine[]; hosts: CheckLine[]; ok: boolean }> {
  const ctx = await requireContext();
  const environment = environmentOf(ctx.config, environmentName);
  const { s3, ssm, logs } = ctx.aws(environment.region);
  const result = await runSetupCheck({ s3, ssm, logs, sts: makeStsClient(environment.region) }, environment, { timeoutMs: 60_000 });
  return { environment: environmentName, ...result };
}
