// The `docker compose build` stand-in runs the Dockerfile's RUN lines as a build does: output
// streamed while it is printed (so live output has something that prints over time), a failing RUN
// fails the build with BuildKit's message and exit 17.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";

const STANDIN = path.resolve(import.meta.dirname, "tools/docker.mjs");

function project(dockerfile: string) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-docker-run-"));
  fs.mkdirSync(path.join(root, "infra"));
  fs.mkdirSync(path.join(root, "services/audit"), { recursive: true });
  fs.mkdirSync(path.join(root, "state"));
  fs.writeFileSync(path.join(root, "infra/docker-compose.yml"), "services:\n  audit:\n    build: ../services/audit\n");
  fs.writeFileSync(path.join(root, "services/audit/Dockerfile"), dockerfile);
  fs.writeFileSync(path.join(root, "services/audit/app.py"), "print('hi')\n");
  return root;
}

function build(root: string): Promise<{ code: number | null; lines: { text: string; at: number }[] }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [STANDIN, "compose", "-f", path.join(root, "infra/docker-compose.yml"), "build", "--no-cache", "audit"], {
      env: { ...process.env, DECKHAND_SANDBOX_HOST_STATE: path.join(root, "state") },
    });
    const lines: { text: string; at: number }[] = [];
    let partial = "";
    child.stderr.on("data", (data: Buffer) => {
      const parts = (partial + data.toString("utf8")).split("\n");
      partial = parts.pop()!;
      for (const text of parts) lines.push({ text, at: Date.now() });
    });
    child.on("close", (code) => resolve({ code, lines }));
  });
}

describe("docker compose build stand-in: RUN", () => {
  it("runs RUN lines in the image's files and streams their output as it is printed", async () => {
    const root = project('FROM python:3.12-slim\nWORKDIR /app\nCOPY . /app\nRUN echo first; ls app.py; sleep 0.6; echo second\nCMD ["python", "app.py"]\n');
    try {
      const { code, lines } = await build(root);
      expect(code).toBe(0);
      const text = lines.map((l) => l.text);
      expect(text).toContain("first");
      expect(text).toContain("app.py"); // run where the image's files are
      const first = lines.find((l) => l.text === "first")!;
      const second = lines.find((l) => l.text === "second")!;
      expect(second.at - first.at, "second printed after the sleep, not all at the end").toBeGreaterThan(400);
      expect(text.at(-1)).toMatch(/audit\s+Built/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it("a failing RUN fails the build like BuildKit (exit 17)", async () => {
    const root = project("FROM python:3.12-slim\nCOPY . /app\nRUN echo trying; exit 3\n");
    try {
      const { code, lines } = await build(root);
      expect(code).toBe(17);
      expect(lines.map((l) => l.text)).toContain('failed to solve: process "/bin/sh -c echo trying; exit 3" did not complete successfully: exit code: 3');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
