import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { defineConfig } from "@playwright/test";

// Debian's Chromium (apt-get install chromium): nothing is downloaded. Playwright's own browser is
// used only where one is already installed and Debian's is not.
const debianChromium = "/usr/bin/chromium";
const executablePath = fs.existsSync(debianChromium) ? debianChromium : undefined;

const port = Number(process.env.E2E_PORT ?? 3117);
// A fresh history and sandbox for every run, so the journeys start from a known state.
// The config is read by the runner and again by each worker: the run directory is made once and inherited.
const runDir = (process.env.E2E_RUN_DIR ??= fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-e2e-")));
// Specs that change the sample repo between deploys (as an operator edits code) find it here.
process.env.E2E_SANDBOX_ROOT = path.join(runDir, "sandbox");

export default defineConfig({
  testDir: "e2e",
  timeout: 120_000,
  expect: { timeout: 30_000 },
  fullyParallel: false,
  workers: 1,
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
    },
  },
  webServer: {
    // The newcomer's path: npm start with no config starts the sandbox and the panel.
    command: "node scripts/start.mjs",
    url: `http://127.0.0.1:${port}/`,
    timeout: 240_000,
    reuseExistingServer: false,
    stdout: "pipe",
    env: {
      PORT: String(port),
      DECKHAND_DB: path.join(runDir, "history.db"),
      DECKHAND_SANDBOX_ROOT: path.join(runDir, "sandbox"),
      DECKHAND_POLL_MS: "500",
      NEXT_TELEMETRY_DISABLED: "1",
    },
  },
});
