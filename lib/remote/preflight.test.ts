import { spawnSync, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  checkedDownloadUrl,
  PREFLIGHT_CAUSES,
  PREFLIGHT_EXIT,
  preflightFailure,
  preflightLines,
  preflightScript,
  presignedDownloadLines,
  redactPresignedUrls,
  type PreflightInput,
} from "./preflight";
import { UnsafeValueError } from "./shell";

const base: PreflightInput = { repoPath: "/home/ubuntu/aegis", composeDir: "infra", bundleBytes: 12_345_678, download: "aws-cli" };

describe("pre-flight lines", () => {
  it("match the golden scripts for both download modes and are bash -n clean", async () => {
    for (const download of ["aws-cli", "presigned-url"] as const) {
      const script = preflightScript({ ...base, download });
      await expect(script).toMatchFileSnapshot(`./golden/preflight-${download}.sh`);
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-preflight-")), "p.sh");
      fs.writeFileSync(file, script);
      execFileSync("bash", ["-n", file]);
    }
  });

  it("start by setting HOME, check aws only in the CLI mode and curl only in the pre-signed mode", () => {
    const cli = preflightLines(base);
    expect(cli[1]).toBe('export HOME="${HOME:-/root}"');
    expect(cli.join("\n")).toContain("command -v aws ");
    expect(cli.join("\n")).not.toContain("command -v curl ");
    const presigned = preflightLines({ ...base, download: "presigned-url" }).join("\n");
    expect(presigned).not.toContain("command -v aws ");
    expect(presigned).toContain("command -v curl ");
  });

  const hostile: [keyof PreflightInput, unknown][] = [
    ["repoPath", "/home/ubuntu/aegis; rm -rf /"],
    ["repoPath", "/home/../etc"],
    ["repoPath", "relative"],
    ["composeDir", "infra\nreboot"],
    ["composeDir", "../.."],
    ["composeDir", "$(id)"],
    ["bundleBytes", -1],
    ["bundleBytes", 1.5],
    ["bundleBytes", Number.NaN],
    ["download", "ftp"],
  ];
  for (const [field, value] of hostile) {
    it(`refuses a hostile ${field}: ${JSON.stringify(value)}`, () => {
      expect(() => preflightLines({ ...base, [field]: value } as PreflightInput)).toThrow(UnsafeValueError);
    });
  }

  it("every exit code is distinct, clear of codes the agent or the script give other meanings, and has a cause and a fix", () => {
    const codes = Object.values(PREFLIGHT_EXIT);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) {
      expect([0, 1, 2, 3, 137, 194]).not.toContain(code);
      expect(code).toBeLessThan(126);
      expect(PREFLIGHT_CAUSES[code]).toMatchObject({ cause: expect.any(String), fix: expect.any(String) });
    }
    expect(PREFLIGHT_CAUSES[PREFLIGHT_EXIT.awsCli]!.cause).toBe("the AWS CLI is not installed — see README › Hosts");
  });
});

/** A host made of a temp dir: a repo with a compose file and a bin dir holding only the tools we choose. */
function fakeHost(tools: string[], options: { compose?: boolean } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-preflight-host-"));
  const repo = path.join(dir, "repo");
  fs.mkdirSync(path.join(repo, "infra"), { recursive: true });
  if (options.compose !== false) fs.writeFileSync(path.join(repo, "infra", "compose.yaml"), "services: {}\n");
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  for (const tool of ["bash", "df", "awk", ...tools.filter((t) => !["aws", "docker", "docker-broken"].includes(t))]) {
    fs.symlinkSync(execFileSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim(), path.join(bin, tool));
  }
  if (tools.includes("aws")) fs.writeFileSync(path.join(bin, "aws"), "#!/bin/sh\necho aws-cli/2.17.0\n", { mode: 0o755 });
  if (tools.includes("docker")) fs.writeFileSync(path.join(bin, "docker"), '#!/bin/sh\n[ "$1 $2" = "compose version" ] && echo "Docker Compose version v2.29.7"\n', { mode: 0o755 });
  if (tools.includes("docker-broken")) fs.writeFileSync(path.join(bin, "docker"), "#!/bin/sh\necho \"docker: 'compose' is not a docker command.\" >&2\nexit 1\n", { mode: 0o755 });
  return { repo, bin };
}

function run(script: string, bin: string) {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-preflight-run-")), "s.sh");
  fs.writeFileSync(file, script, { mode: 0o700 });
  // As SSM runs it: no HOME, only the PATH we give.
  const result = spawnSync(path.join(bin, "bash"), [file], { env: { PATH: bin } as unknown as NodeJS.ProcessEnv, encoding: "utf8" });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const ALL = ["aws", "docker", "sha256sum", "tar", "curl"];

describe("pre-flight on a host (real bash)", () => {
  it("passes on a complete host and sets HOME to /root when unset", () => {
    const host = fakeHost(ALL);
    const input = { ...base, repoPath: host.repo, bundleBytes: 1024 };
    expect(run(preflightScript(input), host.bin)).toEqual({ code: 0, stdout: "PREFLIGHT: ok\n", stderr: "" });
    const home = run(["#!/bin/bash", "set -euo pipefail", ...preflightLines(input), 'echo "HOME=$HOME"'].join("\n"), host.bin);
    expect(home.stdout).toBe("HOME=/root\n");
  });

  const cases: [string, string[], Partial<PreflightInput> & { compose?: boolean; badRepo?: boolean }, number, RegExp][] = [
    ["no aws", ALL.filter((t) => t !== "aws"), {}, PREFLIGHT_EXIT.awsCli, /^PREFLIGHT: the AWS CLI \(aws\) is not installed on this host$/],
    ["no docker compose", ["aws", "docker-broken", "sha256sum", "tar", "curl"], {}, PREFLIGHT_EXIT.dockerCompose, /docker compose \(v2 plugin\) is not available/],
    ["no sha256sum", ALL.filter((t) => t !== "sha256sum"), {}, PREFLIGHT_EXIT.sha256sum, /sha256sum is not installed/],
    ["no tar", ALL.filter((t) => t !== "tar"), {}, PREFLIGHT_EXIT.tar, /tar is not installed/],
    ["no curl in the pre-signed mode", ALL.filter((t) => t !== "curl"), { download: "presigned-url" }, PREFLIGHT_EXIT.curl, /curl is not installed/],
    ["a wrong repo path", ALL, { badRepo: true }, PREFLIGHT_EXIT.repoPath, /the repo path \/.*\/nope does not exist on this host/],
    ["no compose file", ALL, { compose: false }, PREFLIGHT_EXIT.composeFile, /no compose file \(docker-compose.yml, .*compose.yaml\) in \/.*\/repo\/infra/],
    ["a bundle bigger than the disk", ALL, { bundleBytes: 2 ** 52 }, PREFLIGHT_EXIT.disk, /not enough free disk space in \/tmp: \d+ KB free, \d+ KB needed/],
  ];
  for (const [name, tools, overrides, code, reason] of cases) {
    it(`fails with exit ${code} and one PREFLIGHT line for ${name}`, () => {
      const host = fakeHost(tools, { compose: overrides.compose });
      const { compose: _c, badRepo, ...input } = overrides;
      const result = run(preflightScript({ ...base, repoPath: badRepo ? `${host.repo}/nope` : host.repo, bundleBytes: 1024, ...input }), host.bin);
      expect(result.code).toBe(code);
      expect(result.stdout).toBe("");
      expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(result.stderr.trimEnd()).toMatch(reason);
      expect(preflightFailure(result.code!, result.stderr)).toMatchObject({ cause: PREFLIGHT_CAUSES[code]!.cause, detail: result.stderr.trimEnd().slice(11) });
    });
  }

  it("preflightFailure ignores exit codes that are not the pre-flight's and output without the line", () => {
    expect(preflightFailure(1, "PREFLIGHT: the AWS CLI (aws) is not installed on this host")).toBeUndefined();
    expect(preflightFailure(PREFLIGHT_EXIT.awsCli, "something else")).toBeUndefined();
  });
});

describe("pre-signed URL download", () => {
  const url = "https://acp-fix.s3.ap-south-1.amazonaws.com/deployments/acp_audit_1.tar.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20261123%2Fap-south-1%2Fs3%2Faws4_request&X-Amz-Date=20261123T090000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=abc123";

  it("downloads with curl into $TMP, the URL single-quoted and never echoed", () => {
    expect(presignedDownloadLines(url)).toEqual([`step "download the bundle (pre-signed URL)"`, `curl -fsS --retry 3 -o "$TMP" '${url}'`]);
    expect(checkedDownloadUrl("http://127.0.0.1:4566/b/k?X-Amz-Signature=1")).toBeTruthy();
  });

  for (const bad of [
    "http://example.com/b/k",
    "file:///etc/passwd",
    "ftp://127.0.0.1/x",
    "https://h/k?x='; reboot; '",
    "https://h/k\nreboot",
    "https://h/$(id)",
    "https://user:pw@h/k",
    "not a url",
    `https://h/${"a".repeat(9000)}`,
  ]) {
    it(`refuses ${JSON.stringify(bad.slice(0, 40))}`, () => {
      expect(() => presignedDownloadLines(bad)).toThrow(UnsafeValueError);
    });
  }

  it("redactPresignedUrls drops the signed query from a stored script", () => {
    const script = `set -e\ncurl -fsS --retry 3 -o "$TMP" '${url}'\necho done\n`;
    const redacted = redactPresignedUrls(script);
    expect(redacted).not.toContain("X-Amz-Signature");
    expect(redacted).toContain(`curl -fsS --retry 3 -o "$TMP" 'https://acp-fix.s3.ap-south-1.amazonaws.com/deployments/acp_audit_1.tar.gz?<pre-signed query removed>'`);
    expect(redacted).toContain("echo done");
  });
});
