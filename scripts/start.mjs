#!/usr/bin/env node
// `npm start`: builds the panel when needed, starts the local sandbox when no config is given,
// then serves Deckhand on 127.0.0.1. With DECKHAND_CONFIG (or ./deckhand.config.json) it talks to
// real AWS through the standard credential chain (AWS_PROFILE, SSO, env) instead.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

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

function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name.startsWith(".") || entry.name === "generated") continue;
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

function buildIfStale() {
  const buildId = path.join(root, ".next/BUILD_ID");
  const builtAt = fs.existsSync(buildId) ? fs.statSync(buildId).mtimeMs : 0;
  const sourcesAt = Math.max(...["app", "components", "lib"].map((d) => newestMtime(path.join(root, d))));
  if (builtAt > sourcesAt) return;
  console.log("[deckhand] building the panel (next build)…");
  const result = spawnSync("npx", ["next", "build"], { stdio: "inherit", env: process.env });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function stopAll(code) {
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
  setTimeout(() => process.exit(code), 300).unref();
}
process.on("SIGINT", () => stopAll(0));
process.on("SIGTERM", () => stopAll(0));

async function startSandbox() {
  const envFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-start-")), "sandbox.json");
  console.log("[deckhand] no config given: starting the local sandbox (S3, SSM, CloudWatch Logs, two hosts)…");
  const sandbox = spawn(process.execPath, ["--import", "tsx", "lib/sandbox/cli.ts", "--endpoints-file", envFile], { stdio: "inherit", env: process.env });
  children.push(sandbox);
  sandbox.on("exit", (code) => {
    console.error(`[deckhand] the sandbox stopped (exit ${code})`);
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

const hasConfig = Boolean(process.env.DECKHAND_CONFIG) || fs.existsSync(path.join(root, "deckhand.config.json"));
buildIfStale();
const sandboxEnv = hasConfig ? {} : await startSandbox();
const next = spawn("npx", ["next", "start", "--hostname", bind, "--port", port], {
  stdio: "inherit",
  env: { ...process.env, ...sandboxEnv, DECKHAND_PANEL_TOKEN: panelToken },
});
children.push(next);
next.on("exit", (code) => stopAll(code ?? 0));
console.log(`[deckhand] panel on http://${bind.includes(":") ? `[${bind}]` : bind}:${port}`);
