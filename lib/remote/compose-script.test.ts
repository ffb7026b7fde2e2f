import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { composeScript, type ComposeScriptInput } from "./compose-script";
import { shellQuote, UnsafeValueError } from "./shell";

const base: ComposeScriptInput = {
  deployLabel: "20261123-090000-audit-ab12",
  repoPath: "/home/ubuntu/aegis",
  region: "ap-south-1",
  bucket: "acp-fix-1779860735",
  key: "deployments/acp_audit_1779860735.tar.gz",
  sha256: "a".repeat(64),
  replace: [],
  paths: ["services/audit"],
  owner: "ubuntu:ubuntu",
  composeDir: "infra",
  composeServices: ["audit"],
};

const shapes: Record<string, ComposeScriptInput> = {
  "one-service": base,
  "ui-only": { ...base, deployLabel: "20261123-090000-ui-ab12", key: "deployments/acp_ui_1779860735.tar.gz", replace: ["ui/dist"], paths: ["ui/dist", "ui/nginx.conf"], composeServices: ["ui"] },
  multi: { ...base, deployLabel: "20261123-090000-multi-ab12", key: "deployments/acp_multi_1779860735.tar.gz", paths: ["services/audit", "services/gateway", "ui/nginx.conf"], composeServices: ["audit", "gateway"] },
  // seeds/000's UI recipe: `tar czf acp_ui_….tar.gz -C dist .`, extracted into ui/dist after replacing it.
  "ui-dist-layout": { ...base, deployLabel: "redeploy-ui", key: "deployments/acp_ui_1779860735.tar.gz", replace: ["ui/dist"], paths: ["ui/dist"], composeServices: ["ui"], extractInto: "ui/dist" },
  "presigned-url": {
    ...base,
    bundleBytes: 52_428_800,
    download: { mode: "presigned-url", url: "https://acp-fix-1779860735.s3.ap-south-1.amazonaws.com/deployments/acp_audit_1779860735.tar.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=0123abcd" },
  },
};

function bashSyntaxOk(script: string): void {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-script-")), "deploy.sh");
  fs.writeFileSync(file, script);
  execFileSync("bash", ["-n", file]); // throws on a syntax error
}

describe("compose host script", () => {
  for (const [shape, input] of Object.entries(shapes)) {
    it(`matches the golden script for the ${shape} shape and is bash -n clean`, async () => {
      const script = composeScript(input);
      await expect(script).toMatchFileSnapshot(`./golden/${shape}.sh`);
      bashSyntaxOk(script);
    });
  }

  it("starts with a bash shebang and strict mode, and verifies sha256 before extracting", () => {
    const script = composeScript(shapes["ui-only"]);
    expect(script.split("\n").slice(0, 3)).toEqual(["#!/bin/bash", expect.any(String), "set -euo pipefail"]);
    const verify = script.indexOf('if [ "$ACTUAL_SHA256" != "$EXPECTED_SHA256" ]');
    expect(verify).toBeGreaterThan(0);
    expect(script.indexOf("sudo rm -rf -- 'ui/dist'")).toBeGreaterThan(verify);
    expect(script.indexOf("sudo tar xzf")).toBeGreaterThan(verify);
    expect(script).toContain("sudo docker compose build --no-cache 'ui'");
    expect(script).toContain("sudo docker compose up -d --no-deps --force-recreate 'ui'");
  });

  it("runs the pre-flight first: HOME set and every check before cd, download or extraction", () => {
    const script = composeScript(shapes["one-service"]);
    const lines = script.split("\n");
    expect(lines.indexOf('export HOME="${HOME:-/root}"')).toBe(4);
    const lastCheck = script.indexOf("preflight_disk '/home/ubuntu/aegis'");
    expect(lastCheck).toBeGreaterThan(0);
    for (const later of ['cd "$REPO"', "aws s3 cp", "sudo tar xzf", "mktemp"]) expect(script.indexOf(later)).toBeGreaterThan(lastCheck);
    const presigned = composeScript(shapes["presigned-url"]);
    expect(presigned).not.toContain("aws s3 cp");
    expect(presigned).not.toContain("command -v aws");
    expect(presigned).toContain(`curl -fsS --retry 3 -o "$TMP" 'https://`);
  });

  it("extracts a -C dist bundle into the replaced directory, as seeds/000's UI recipe does", () => {
    const script = composeScript(shapes["ui-dist-layout"]!);
    const at = ["sudo rm -rf -- 'ui/dist'", "sudo mkdir -p -- 'ui/dist'", `sudo tar xzf "$TMP" -C "$REPO"/'ui/dist' --no-same-owner`, "sudo chown -R 'ubuntu:ubuntu' -- 'ui/dist'", "sudo docker compose build --no-cache 'ui'"].map((l) => script.indexOf(l));
    expect(at.every((i) => i > 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(() => composeScript({ ...shapes["ui-dist-layout"]!, extractPaths: ["ui/dist"] })).toThrow(UnsafeValueError);
  });

  it("refuses a hostile pre-signed URL", () => {
    expect(() => composeScript({ ...base, download: { mode: "presigned-url", url: "https://h/x'$(reboot)'" } })).toThrow(UnsafeValueError);
    expect(() => composeScript({ ...base, download: { mode: "presigned-url", url: "http://evil.example/x" } })).toThrow(UnsafeValueError);
  });

  const hostile: [keyof ComposeScriptInput, unknown][] = [
    ["repoPath", "/home/ubuntu/aegis; rm -rf /"],
    ["repoPath", "relative/path"],
    ["bucket", "bucket$(id)"],
    ["key", "deployments/x.tar.gz' ; reboot; '"],
    ["key", "../../etc/passwd"],
    ["region", "ap-south-1`id`"],
    ["sha256", "abc"],
    ["replace", ["ui/dist && curl evil"]],
    ["replace", ["../.."]],
    ["paths", ["services/$(whoami)"]],
    ["owner", "root;id"],
    ["composeDir", "infra\nreboot"],
    ["composeServices", ["audit; docker rm -f $(docker ps -q)"]],
    ["deployLabel", "x'y"],
    ["bundleBytes", -5],
    ["extractInto", "../ui"],
    ["extractInto", "ui/dist; reboot"],
  ];
  for (const [field, value] of hostile) {
    it(`refuses a hostile ${field}: ${JSON.stringify(value)}`, () => {
      expect(() => composeScript({ ...base, [field]: value })).toThrow(UnsafeValueError);
    });
  }

  it("refuses an empty path list or member list: tar would otherwise extract the whole archive", () => {
    expect(() => composeScript({ ...base, paths: [] })).toThrow(/no paths/);
    expect(() => composeScript({ ...base, extractPaths: [] })).toThrow(/empty member list: tar would extract every member/);
    expect(composeScript({ ...base, extractPaths: ["services/audit"] })).toContain("--no-overwrite-dir -- 'services/audit'");
  });

  it("vets the archive after the sha256 check and before anything is removed or extracted", () => {
    const script = composeScript(shapes["ui-only"]);
    const vet = script.indexOf('deckhand_vet_archive "$TMP"');
    expect(vet).toBeGreaterThan(script.indexOf("exit 3"));
    expect(script.indexOf("sudo rm -rf -- 'ui/dist'")).toBeGreaterThan(vet);
    expect(script).toContain('sudo tar xzf "$TMP" -C "$REPO" --no-same-owner --no-same-permissions --no-overwrite-dir');
  });

  it("quotes so that bash reads back exactly the value", () => {
    for (const value of ["plain", "it's", "a b", "$HOME", "`x`", "\"q\"", "'"]) {
      expect(execFileSync("bash", ["-c", `printf %s ${shellQuote(value)}`], { encoding: "utf8" })).toBe(value);
    }
  });
});
