#!/usr/bin/env node
// `npm start`: builds the panel when needed, starts the local sandbox when no config is given,
// then serves Deckhand on 127.0.0.1. With DECKHAND_CONFIG (or ./deckhand.config.json) it talks to
// real AWS through the standard credential chain (AWS_PROFILE, SSO, env) instead.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { panelBuildIsStale } from "./panel-build.mjs";

const root = path.resolve(import.meta.dirname, "..");
process.chdir(root);
process.env.NEXT_TELEMETRY_DISABLED = "1";
const port = process.env.PORT ?? "3000";
// Loopback only unless asked (--bind ADDR or DECKHAND_BIND=ADDR): the panel runs root shell on hosts.
const bindIndex = process.argv.indexOf("--bind");
const bind = (bindIndex >= 0 ? process.argv[bindIndex + 1] : undefined) ?? process.env.DECKHAND_BIND ?? "127.0.0.1";
if (bind !== "127.0.0.1") {
  console.warn(
    `[deckhand] WARNING: binding to ${bind}, not 127.0.0.1. Anyone who can reach this address can see deploy history ` +
      `and, with the page's token, ship code to production hosts. Only names in DECKHAND_ALLOWED_HOSTS ` +
      `(now: ${process.env.DECKHAND_ALLOWED_HOSTS || "none"}) besides loopback are answered; all others get 421.`,
  );
}
// A fresh token per launch: the page gets it in its HTML, every API call and server action must carry it.
const panelToken = randomBytes(32).toString("base64url");
const children = [];
const tempDirs = [];

/** Refuses at once, in one line, when the port is taken: before any build or sandbox starts. */
async function assertPortFree() {
  const free = await new Promise((resolve) => {
    const probe = net.createServer();
    probe.once("error", (error) => resolve(error.code !== "EADDRINUSE" && error.code !== "EACCES" ? true : error.code));
    probe.listen(Number(port), bind, () => probe.close(() => resolve(true)));
  });
  if (free === true) return;
  console.error(`[deckhand] port ${port} on ${bind} is ${free === "EACCES" ? "not allowed" : "already in use"}: pick another with PORT=4000 npm start`);
  process.exit(1);
}

function buildIfStale() {
  if (!panelBuildIsStale(root)) return;
  console.log("[deckhand] building the panel (next build)…");
  const result = spawnSync(process.execPath, [path.join(root, "node_modules/next/dist/bin/next"), "build"], { stdio: "inherit", env: process.env });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

/** Children stay in this process group (a group kill from a supervisor reaches them); each stops its own children on SIGTERM. */
function startChild(args, env) {
  const child = spawn(process.execPath, args, { stdio: "inherit", env });
  children.push(child);
  return child;
}

let stopping = false;
function stopAll(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
    }
  }
  // The sandbox may still be starting (it stops once started): give it time before SIGKILL, which would leave its root behind.
  const deadline = Date.now() + 15_000;
  const finish = () => {
    const running = children.filter((child) => child.exitCode === null && child.signalCode === null);
    if (running.length > 0 && Date.now() < deadline) return setTimeout(finish, 100);
    for (const child of running) child.kill("SIGKILL");
    for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
    process.exit(code);
  };
  finish();
}
process.on("SIGINT", () => stopAll(0));
process.on("SIGTERM", () => stopAll(0));

async function startSandbox() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-start-"));
  tempDirs.push(dir);
  const envFile = path.join(dir, "sandbox.json");
  console.log("[deckhand] no config given: starting the local sandbox (S3, SSM, CloudWatch Logs, two hosts)…");
  const sandbox = startChild(["--import", "tsx", "lib/sandbox/cli.ts", "--endpoints-file", envFile], process.env);
  sandbox.on("exit", (code) => {
    if (!stopping) console.error(`[deckhand] the sandbox stopped (exit ${code})`);
    stopAll(code ?? 1);
  });
  const deadline = Date.now() + 60_000;
  while (!fs.existsSync(envFile)) {
    if (Date.now() > deadline) throw new Error("the sandbox did not start within 60 s");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const { env, root: sandboxRoot } = JSON.parse(fs.readFileSync(envFile, "utf8"));
  // The sandbox's hosts, bucket and repo are new on every start: so is its history, unless asked.
  return { DECKHAND_DB: process.env.DECKHAND_DB ?? path.join(sandboxRoot, "history.db"), ...env };
}

await assertPortFree();
const hasConfig = Boolean(process.env.DECKHAND_CONFIG) || fs.existsSync(path.join(root, "deckhand.config.json"));
buildIfStale();
const sandboxEnv = hasConfig ? {} : await startSandbox();
const next = startChild([path.join(root, "node_modules/next/dist/bin/next"), "start", "--hostname", bind, "--port", port], { ...process.env, ...sandboxEnv, DECKHAND_PANEL_TOKEN: panelToken });
next.on("exit", (code) => {
  if (!stopping && code !== 0) console.error(`[deckhand] the panel stopped (exit ${code})`);
  stopAll(code ?? 1);
});
console.log(`[deckhand] panel on http://${bind.includes(":") ? `[${bind}]` : bind}:${port}`);
