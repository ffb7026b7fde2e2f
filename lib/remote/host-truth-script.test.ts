import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { hostTruthScript, type HostTruthScriptInput } from "./host-truth-script";
import { UnsafeValueError } from "./shell";

const base: HostTruthScriptInput = { repoPath: "/home/ubuntu/aegis", paths: ["ui/dist", "ui/nginx.conf", "services/audit", "services/gateway"] };

describe("host-truth script", () => {
  it("matches the golden script and is bash -n clean", async () => {
    const script = hostTruthScript(base);
    await expect(script).toMatchFileSnapshot("./golden/host-truth.sh");
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-truth-")), "truth.sh");
    fs.writeFileSync(file, script);
    execFileSync("bash", ["-n", file]);
  });

  it("is read-only: no writes, deletes, docker or sudo", () => {
    const script = hostTruthScript(base);
    for (const word of [/\brm\b/, /\bmv\b/, /\bcp\b/, /\btar\b/, /\bdocker\b/, /\bsudo\b/, /\bchown\b/, /\bmkdir\b/, /(^|[^2&])>[^&]/m]) expect(script).not.toMatch(word);
  });

  const hostile: [keyof HostTruthScriptInput, unknown][] = [
    ["repoPath", "/srv/app; reboot"],
    ["repoPath", "relative"],
    ["paths", ["ui/$(id)"]],
    ["paths", ["../etc"]],
    ["paths", []],
    ["frontUrl", "http://evil.example/"],
    ["frontUrl", "http://localhost/'; reboot; '"],
    ["maxFiles", 1e9],
  ];
  for (const [field, value] of hostile) {
    it(`refuses a hostile ${field}: ${JSON.stringify(value)}`, () => {
      expect(() => hostTruthScript({ ...base, [field]: value } as HostTruthScriptInput)).toThrow(UnsafeValueError);
    });
  }
});
