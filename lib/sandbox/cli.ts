// `npm run sandbox`: start one sandbox, print its endpoints and env, optionally write them to a JSON file.
import fs from "node:fs";
import { startSandbox } from "./index";

function argValue(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

// `--endpoints-file PATH` is the safe spelling: Node 20 takes `--env-file` anywhere on the command line as its
// own flag (and exits 9) unless it follows `--`, so `--env-file` only works as `cli.ts -- --env-file PATH`.
const envFile = argValue("--endpoints-file") ?? argValue("--env-file") ?? process.env.DECKHAND_SANDBOX_ENV_FILE;

// Handlers first: a SIGTERM while the sandbox is still starting must still stop its hosts and remove
// its temp root (the default action would kill this process and leave both behind).
let sandbox: Awaited<ReturnType<typeof startSandbox>> | undefined;
let stopping: string | null = null;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = signal;
  if (!sandbox) return; // stopped as soon as it has started, below
  console.log(`${signal}: stopping the sandbox`);
  await sandbox.stop();
  process.exit(0);
};
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));

sandbox = await startSandbox({ root: argValue("--root") ?? process.env.DECKHAND_SANDBOX_ROOT });
if (stopping) {
  console.log(`${stopping} during start: stopping the sandbox`);
  await sandbox.stop();
  process.exit(0);
}

for (const [name, url] of Object.entries(sandbox.endpoints)) console.log(`endpoint ${name} ${url}`);
for (const host of sandbox.hosts) console.log(`host ${host.instanceId} "${host.name}" http://127.0.0.1:${host.port}`);
console.log(`repo ${sandbox.repoDir}`);
console.log(`config ${sandbox.configPath}`);
// The probe password stays out of the console (and so out of `npm start`'s log): it is in the endpoints file.
for (const [name, value] of Object.entries(sandbox.env)) console.log(name === "AEGIS_PROBE_PASSWORD" ? `${name}=(set; in the endpoints file)` : `${name}=${value}`);
if (envFile) {
  const { endpoints, env, configPath, hosts, root } = sandbox;
  // Write then rename so a process waiting for the file never reads half of it.
  fs.writeFileSync(`${envFile}.tmp`, JSON.stringify({ endpoints, env, configPath, hosts, root }, null, 2), { mode: 0o600 });
  fs.renameSync(`${envFile}.tmp`, envFile);
}
console.log("sandbox ready (Ctrl-C to stop)");
