// `npm run test:aws`: the deploy path against a REAL AWS account, opt-in. Skipped (exit 0, saying so)
// unless DECKHAND_AWS_TEST_CONFIG names a Deckhand config and the SDK's standard chain has credentials.
// What it does: the setup check for the environment, then one deploy of one service, watched to its end.
import { loadConfig } from "../lib/config/load";
import { createDeployContext } from "../lib/deploy/context";
import { startDeploy } from "../lib/deploy/deploy";
import { jobSettled } from "../lib/deploy/jobs";
import { openDatabase } from "../lib/history/db";
import { getDeployDetail } from "../lib/history/deploys";
import { makeStsClient, runSetupCheck } from "../lib/setup/check";

const configFile = process.env.DECKHAND_AWS_TEST_CONFIG;
const environmentName = process.env.DECKHAND_AWS_TEST_ENVIRONMENT;
const service = process.env.DECKHAND_AWS_TEST_SERVICE;

async function main(): Promise<number> {
  if (!configFile || !environmentName || !service) {
    console.log("test:aws skipped: set DECKHAND_AWS_TEST_CONFIG, DECKHAND_AWS_TEST_ENVIRONMENT and DECKHAND_AWS_TEST_SERVICE (see README › Hosts and IAM) to run it against a real account.");
    return 0;
  }
  const config = await loadConfig(configFile);
  const environment = config.environments[environmentName];
  if (!environment) throw new Error(`${configFile}: no environment "${environmentName}"`);
  const db = openDatabase(process.env.DECKHAND_DB ?? "data/test-aws.db");
  const ctx = createDeployContext(config, db);
  const { s3, ssm, logs } = ctx.aws(environment.region);
  try {
    await s3.config.credentials(); // the SDK's standard chain, exactly as the panel uses it
  } catch {
    console.log("test:aws skipped: no AWS credentials in the standard chain (AWS_PROFILE, SSO, env).");
    return 0;
  }
  const setup = await runSetupCheck({ s3, ssm, logs, sts: makeStsClient(environment.region) }, environment);
  for (const line of [...setup.laptop, ...setup.hosts]) console.log(`${line.ok ? "ok  " : "FIX "} ${line.name}: ${line.detail}${line.ok ? "" : ` — ${line.fix}`}`);
  if (!setup.ok) return 1;
  const id = await startDeploy(ctx, { environment: environmentName, services: [service] });
  console.log(`deploy ${id} started`);
  await jobSettled(id);
  const deploy = await getDeployDetail(db, id);
  console.log(`deploy ${id}: ${deploy?.status}${deploy?.error ? ` — ${deploy.error}` : ""}`);
  for (const run of deploy?.hostRuns ?? []) console.log(`  ${run.hostName}: ${run.status} (exit ${run.responseCode})`);
  await db.$disconnect();
  return deploy?.status === "succeeded" ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`test:aws failed: ${(error as Error).message}`);
    process.exit(1);
  },
);
