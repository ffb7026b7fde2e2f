// Stand-in for systemctl on a sandbox host (seeds/002's systemd profile). As strict as systemd where
// Deckhand relies on it: a unit is only known after `daemon-reload` (a changed file on disk is ignored,
// with systemd's warning, until then); `restart` stops the running process and starts the loaded unit
// (EnvironmentFile, ExecStartPre, ExecStart with ${VAR} from it); a simple service is "active" while its
// main process lives and "failed" once it died on its own. Units' absolute paths are the host's (system-root.mjs).
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { applyStepFaults } from "./faults.mjs";
import { hostPath } from "./system-root.mjs";

const stateDir = process.env.DECKHAND_SANDBOX_HOST_STATE;
const binDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "bin");
function fail(message, code = 1) {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}
if (!stateDir) fail("systemctl: the sandbox stand-in needs DECKHAND_SANDBOX_HOST_STATE");
const unitDir = hostPath("/etc/systemd/system");
const systemdDir = path.join(stateDir, "systemd");
const loadedDir = path.join(systemdDir, "loaded");
fs.mkdirSync(loadedDir, { recursive: true });

const readJson = (file) => {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
};
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const unitName = (name) => {
  if (!name) fail("Too few arguments.");
  const full = name.endsWith(".service") ? name : `${name}.service`;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.@-]*\.service$/.test(full)) fail(`Invalid unit name "${name}".`);
  return full;
};
const stateFile = (unit) => path.join(systemdDir, `${unit}.json`);
const journal = (unit) => path.join(systemdDir, `${unit}.journal`);
const log = (unit, line) => fs.appendFileSync(journal(unit), `${new Date().toISOString()} ${line}\n`);

/** [Service] keys of a unit file; backslash-continued lines joined. */
function parseUnit(text) {
  const service = {};
  let section = "";
  const lines = text.replace(/\\\n/g, " ").split("\n");
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    if (/^\[.*\]$/.test(line)) {
      section = line;
      continue;
    }
    const eq = line.indexOf("=");
    if (eq < 0 || section !== "[Service]") continue;
    const key = line.slice(0, eq).trim();
    (service[key] ??= []).push(line.slice(eq + 1).trim());
  }
  return service;
}

function readEnvFile(file) {
  const env = {};
  for (const raw of fs.readFileSync(file, "utf8").split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match) env[match[1]] = match[2].replace(/^"(.*)"$/, "$1").replace(/^'(.*)'$/, "$1");
  }
  return env;
}

/** systemd's own expansion: ${VAR} and $VAR from the unit's environment, then split into words. */
function commandLine(value, env) {
  const line = value.replace(/^[-@+!:]+/, "");
  const expanded = line.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, a, b) => env[a ?? b] ?? "");
  const words = expanded.split(/\s+/).filter(Boolean);
  // /usr/bin/docker etc. are this host's stand-ins when the sandbox has one.
  const tool = path.join(binDir, path.basename(words[0] ?? ""));
  if (words[0] && fs.existsSync(tool)) words[0] = tool;
  return { words, ignoreFailure: value.startsWith("-") };
}

function loaded(unit) {
  const file = path.join(loadedDir, unit);
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : null;
}

function warnIfChangedOnDisk(unit) {
  const onDisk = path.join(unitDir, unit);
  const text = loaded(unit);
  if (text !== null && fs.existsSync(onDisk) && fs.readFileSync(onDisk, "utf8") !== text) {
    process.stderr.write(`Warning: The unit file, source configuration file or drop-ins of ${unit} changed on disk. Run 'systemctl daemon-reload' to reload units.\n`);
  }
}

function activeState(unit) {
  const state = readJson(stateFile(unit));
  if (!state) return "inactive";
  if (state.result === "failed") return "failed";
  if (state.pid && alive(state.pid)) return "active";
  if (state.pid && !state.stopped) return "failed"; // the main process died on its own
  return "inactive";
}

async function stopUnit(unit) {
  const state = readJson(stateFile(unit));
  if (state?.pid && alive(state.pid)) {
    fs.writeFileSync(stateFile(unit), JSON.stringify({ ...state, stopped: true }));
    try {
      process.kill(-state.pid, "SIGTERM");
    } catch {
      process.kill(state.pid, "SIGTERM");
    }
    for (let i = 0; i < 250 && alive(state.pid); i++) await sleep(20);
    if (alive(state.pid)) {
      try {
        process.kill(-state.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    log(unit, `Stopped ${unit}.`);
  }
  if (state) fs.writeFileSync(stateFile(unit), JSON.stringify({ ...state, stopped: true, result: "success" }));
}

function failStart(unit, why) {
  log(unit, why);
  fs.writeFileSync(stateFile(unit), JSON.stringify({ unit, result: "failed", why, at: new Date().toISOString() }));
  fail(`Job for ${unit} failed because the control process exited with error code.\nSee "systemctl status ${unit}" and "journalctl -xeu ${unit}" for details.`, 1);
}

async function startUnit(unit) {
  const text = loaded(unit);
  if (text === null) fail(`Failed to start ${unit}: Unit ${unit} not found.`, 5);
  if (activeState(unit) === "active") return;
  const service = parseUnit(text);
  const env = {};
  for (const entry of service.EnvironmentFile ?? []) {
    const optional = entry.startsWith("-");
    const file = hostPath(entry.replace(/^-/, ""));
    if (!fs.existsSync(file)) {
      if (optional) continue;
      failStart(unit, `${unit}: Failed to load environment files: ${entry} not found`);
    }
    Object.assign(env, readEnvFile(file));
  }
  const cwd = service.WorkingDirectory?.[0] ? hostPath(service.WorkingDirectory[0]) : "/";
  if (!fs.existsSync(cwd)) failStart(unit, `${unit}: Changing to the requested working directory failed: No such file or directory (status=200/CHDIR)`);
  const childEnv = { ...process.env, ...env };
  const out = fs.openSync(journal(unit), "a");
  for (const pre of service.ExecStartPre ?? []) {
    const { words, ignoreFailure } = commandLine(pre, env);
    const result = spawnSync(words[0], words.slice(1), { cwd, env: childEnv, stdio: ["ignore", out, out] });
    if (result.status !== 0 && !ignoreFailure) failStart(unit, `${unit}: Control process exited, code=exited, status=${result.status ?? 1} (ExecStartPre=${pre})`);
  }
  const start = service.ExecStart?.[0];
  if (!start) failStart(unit, `${unit}: Service has no ExecStart= setting. Refusing.`);
  const { words } = commandLine(start, env);
  const type = service.Type?.[0] ?? "simple";
  // Its own session: the unit outlives the SSM script that restarted it, as under systemd.
  const child = spawn(words[0], words.slice(1), { cwd, env: childEnv, detached: true, stdio: ["ignore", out, out] });
  child.unref();
  fs.writeFileSync(stateFile(unit), JSON.stringify({ unit, pid: child.pid, type, startedAt: new Date().toISOString(), result: "running" }));
  log(unit, `Started ${unit} (main PID ${child.pid}).`);
  if (type === "oneshot") {
    const code = await new Promise((resolve) => child.on("close", (c) => resolve(c ?? 1)));
    fs.writeFileSync(stateFile(unit), JSON.stringify({ unit, pid: child.pid, type, result: code === 0 ? "success" : "failed", stopped: code === 0 }));
    if (code !== 0) failStart(unit, `${unit}: Main process exited, code=exited, status=${code}`);
  }
}

await applyStepFaults();
const args = process.argv.slice(2).filter((a) => a !== "--no-pager" && a !== "--no-block" && a !== "--now");
const quiet = args.includes("--quiet") || args.includes("-q");
const [command, ...names] = args.filter((a) => !a.startsWith("-"));
fs.appendFileSync(path.join(systemdDir, "systemctl.log"), `${[command, ...names].join(" ")}\n`);
switch (command) {
  case "daemon-reload": {
    for (const file of fs.readdirSync(loadedDir)) fs.rmSync(path.join(loadedDir, file));
    if (fs.existsSync(unitDir)) for (const file of fs.readdirSync(unitDir).filter((f) => f.endsWith(".service"))) fs.copyFileSync(path.join(unitDir, file), path.join(loadedDir, file));
    break;
  }
  case "restart": {
    const unit = unitName(names[0]);
    if (loaded(unit) === null) fail(`Failed to restart ${unit}: Unit ${unit} not found.`, 5);
    warnIfChangedOnDisk(unit);
    await stopUnit(unit);
    await startUnit(unit);
    break;
  }
  case "start": {
    const unit = unitName(names[0]);
    warnIfChangedOnDisk(unit);
    await startUnit(unit);
    break;
  }
  case "stop": {
    const unit = unitName(names[0]);
    if (loaded(unit) === null) fail(`Failed to stop ${unit}: Unit ${unit} not loaded.`, 5);
    await stopUnit(unit);
    break;
  }
  case "enable": {
    const unit = unitName(names[0]);
    if (!fs.existsSync(path.join(unitDir, unit))) fail(`Failed to enable unit: Unit file ${unit} does not exist.`, 1);
    fs.writeFileSync(path.join(systemdDir, `${unit}.enabled`), "");
    break;
  }
  case "is-active": {
    const unit = unitName(names[0]);
    const state = activeState(unit);
    if (!quiet) process.stdout.write(`${state}\n`);
    process.exit(state === "active" ? 0 : 3);
  }
  // falls through never: is-active exits
  case "status": {
    const unit = unitName(names[0]);
    const text = loaded(unit);
    if (text === null) fail(`Unit ${unit} could not be found.`, 4);
    const state = activeState(unit);
    const info = readJson(stateFile(unit));
    const lines = fs.existsSync(journal(unit)) ? fs.readFileSync(journal(unit), "utf8").split("\n").filter(Boolean).slice(-10) : [];
    process.stdout.write(
      [`● ${unit}`, `     Loaded: loaded (${path.join("/etc/systemd/system", unit)}; ${fs.existsSync(path.join(systemdDir, `${unit}.enabled`)) ? "enabled" : "disabled"})`, `     Active: ${state}${state === "active" ? ` (running) since ${info.startedAt}` : ""}`, ...(info?.pid ? [`   Main PID: ${info.pid}`] : []), "", ...lines, ""].join("\n"),
    );
    process.exit(state === "active" ? 0 : 3);
  }
  // falls through never: status exits
  default:
    fail(`systemctl ${command ?? ""}: not available in the sandbox (daemon-reload, restart, start, stop, enable, is-active, status)`);
}
