import { Upload } from "@aws-sdk/lib-storage";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoOnHost } from "../deploy/test-sandbox";
import { startSandbox, type Sandbox } from "../sandbox";
import { FAST_TIMING, runScript, sandboxClients, waitForInvocation } from "../sandbox/testClients";
import { ARCHIVE_REFUSED_EXIT, archiveCheckLines, SAFE_EXTRACT_FLAGS } from "./archive-check";
import { composeScript } from "./compose-script";
import { hostileTarGz, type HostileEntry } from "./hostile-tar";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-archive-check-"));
const vetScript = path.join(scratch, "vet.sh");
fs.writeFileSync(vetScript, ["#!/bin/bash", "set -euo pipefail", 'step() { echo "==> $*"; }', 'TMP="$1"', 'REPO="$2"', ...archiveCheckLines("TMP", "REPO"), "echo VETTED", ""].join("\n"));
const emptyRepo = fs.mkdtempSync(path.join(scratch, "repo-"));

async function vet(entries: HostileEntry[], repo = emptyRepo) {
  const file = path.join(scratch, `a-${Math.random().toString(36).slice(2)}.tar.gz`);
  fs.writeFileSync(file, await hostileTarGz(entries));
  const run = spawnSync("bash", [vetScript, file, repo], { encoding: "utf8" });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const canary: HostileEntry = { name: "services/audit/CANARY", body: "extracted" };

describe("archive vetting (bash, GNU tar listing)", () => {
  it("is bash -n clean", () => {
    execFileSync("bash", ["-n", vetScript]);
  });

  it("passes an ordinary bundle: files, dirs, in-repo symlinks, odd but harmless names", async () => {
    const result = await vet([
      { name: "ui/dist/", type: "directory" },
      { name: "ui/dist/index.html", body: "<html>" },
      { name: "ui/dist/latest.js", type: "symlink", linkname: "assets/index-1.js" },
      { name: "services/audit/shared", type: "symlink", linkname: "../gateway/lib" },
      { name: "services/audit/a -> b.txt", body: "an arrow in a name" },
      { name: 'services/audit/quote".txt', body: "a quote in a name" },
      { name: "services/audit/ünïcode.txt", body: "non-ASCII" },
      { name: "services/audit/new\nline.txt", body: "a newline in a name" },
      { name: `services/audit/${"long/".repeat(40)}deep.txt`, body: "a PAX long name" },
      { name: ".deckhand/manifest.json", body: "{}" },
    ]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("VETTED");
  });

  const hostile: [string, HostileEntry, RegExp][] = [
    ["an absolute member", { name: "/etc/cron.d/evil", body: "* * * * * root id" }, /member "\/etc\/cron.d\/evil" has an absolute path/],
    ["a .. member", { name: "services/../../etc/passwd", body: "x" }, /member "services\/..\/..\/etc\/passwd" has a \.\. component/],
    ["a setuid file", { name: "services/audit/bin/su", mode: 0o4755, body: "#!/bin/sh" }, /member "services\/audit\/bin\/su" is setuid\/setgid \(-rwsr-xr-x\)/],
    ["a setgid file", { name: "services/audit/bin/sg", mode: 0o2755, body: "#!/bin/sh" }, /member "services\/audit\/bin\/sg" is setuid\/setgid/],
    ["a character device", { name: "services/audit/mem", type: "character-device" }, /member "services\/audit\/mem" is a device node/],
    ["a block device", { name: "services/audit/disk", type: "block-device" }, /member "services\/audit\/disk" is a device node/],
    ["a FIFO", { name: "services/audit/pipe", type: "fifo" }, /member "services\/audit\/pipe" is a FIFO/],
    ["a hard link", { name: "services/audit/shadow", type: "link", linkname: "etc/shadow" }, /member "services\/audit\/shadow" is a hard link/],
    ["a symlink climbing out", { name: "services/audit/etc", type: "symlink", linkname: "../../../etc" }, /member "services\/audit\/etc" is a symlink leaving the repo/],
    ["an absolute symlink", { name: "services/audit/root", type: "symlink", linkname: "/root" }, /member "services\/audit\/root" is a symlink leaving the repo \(-> "\/root"\)/],
    ["a symlink climbing out through a name with a newline", { name: "a\nb/x", type: "symlink", linkname: "../../x" }, /member "a\\nb\/x" is a symlink leaving the repo/],
  ];
  for (const [what, entry, message] of hostile) {
    it(`refuses ${what}, naming it, with exit ${ARCHIVE_REFUSED_EXIT}`, async () => {
      const result = await vet([canary, entry]);
      expect(result.status).toBe(ARCHIVE_REFUSED_EXIT);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toContain("nothing was extracted");
      expect(result.stdout).not.toContain("VETTED");
    });
  }

  it("refuses a chain of in-repo symlinks that climbs out (each link alone looks inside)", async () => {
    const result = await vet([
      { name: "services/a/c", type: "symlink", linkname: ".." },
      { name: "services/a/d", type: "symlink", linkname: "c/../.." },
    ]);
    expect(result.status).toBe(ARCHIVE_REFUSED_EXIT);
    expect(result.stderr).toContain('member "services/a/d" goes through the symlink "services/a/c"');
  });

  it("refuses a member written through a symlink in the same archive", async () => {
    const result = await vet([{ name: "services/audit/lnk", type: "symlink", linkname: "../gateway" }, { name: "services/audit/lnk/app.js", body: "x" }]);
    expect(result.status).toBe(ARCHIVE_REFUSED_EXIT);
    expect(result.stderr).toContain('member "services/audit/lnk/app.js" goes through the symlink "services/audit/lnk"');
  });

  it("refuses a member written through a symlink already in the repo on the host", async () => {
    const repo = fs.mkdtempSync(path.join(scratch, "repo-"));
    fs.mkdirSync(path.join(repo, "services/audit"), { recursive: true });
    fs.symlinkSync(scratch, path.join(repo, "services/audit/out"));
    const result = await vet([canary, { name: "services/audit/out/evil.sh", body: "x" }], repo);
    expect(result.status).toBe(ARCHIVE_REFUSED_EXIT);
    expect(result.stderr).toContain('member "services/audit/out/evil.sh" goes through the symlink "services/audit/out"');
    expect((await vet([canary], repo)).status).toBe(0);
  });

  it("refuses a file that is not an archive", async () => {
    const file = path.join(scratch, "not-a-tarball.tar.gz");
    fs.writeFileSync(file, "hello");
    const run = spawnSync("bash", [vetScript, file, emptyRepo], { encoding: "utf8" });
    expect(run.status).toBe(ARCHIVE_REFUSED_EXIT);
    expect(run.stderr).toContain("cannot be listed");
  });

  it("extracts with flags that drop ownership and special bits (belt and braces behind the check)", async () => {
    const file = path.join(scratch, "setuid.tar.gz");
    fs.writeFileSync(file, await hostileTarGz([{ name: "bin/su", mode: 0o6755, body: "x" }]));
    const out = fs.mkdtempSync(path.join(scratch, "out-"));
    execFileSync("bash", ["-c", `tar xzf "$1" -C "$2" ${SAFE_EXTRACT_FLAGS}`, "tar", file, out]);
    const mode = fs.statSync(path.join(out, "bin/su")).mode;
    expect(mode & 0o6000).toBe(0);
  });
});

describe("the real host script refuses hostile archives on a sandbox host", () => {
  let sandbox: Sandbox;
  let clients: ReturnType<typeof sandboxClients>;
  beforeAll(async () => {
    sandbox = await startSandbox({ timing: FAST_TIMING });
    clients = sandboxClients(sandbox);
  }, 60_000);
  afterAll(async () => {
    await sandbox?.stop();
  });

  const cases: [string, HostileEntry, string][] = [
    ["setuid", { name: "services/audit/su", mode: 0o4755, body: "#!/bin/sh\nid\n" }, `member "services/audit/su" is setuid/setgid`],
    ["device", { name: "services/audit/mem", type: "character-device" }, `member "services/audit/mem" is a device node`],
    ["hard-link", { name: "services/audit/passwd", type: "link", linkname: "etc/passwd" }, `member "services/audit/passwd" is a hard link`],
    ["escaping-symlink", { name: "services/audit/out", type: "symlink", linkname: "../../../../../../tmp" }, `member "services/audit/out" is a symlink leaving the repo`],
  ];
  for (const [label, entry, message] of cases) {
    it(`refuses a ${label} member: exit ${ARCHIVE_REFUSED_EXIT}, member named, nothing extracted, nothing rebuilt`, async () => {
      const body = await hostileTarGz([{ name: "services/audit/", type: "directory" }, canary, entry]);
      const key = `deployments/acp_hostile-${label}_${Date.now()}.tar.gz`;
      await new Upload({ client: clients.s3, params: { Bucket: sandbox.bucket, Key: key, Body: body } }).done();
      const script = composeScript({
        deployLabel: `hostile-${label}`,
        repoPath: sandbox.remoteRepoPath,
        region: sandbox.region,
        bucket: sandbox.bucket,
        key,
        sha256: createHash("sha256").update(body).digest("hex"),
        replace: [],
        paths: ["services/audit"],
        owner: "ubuntu:ubuntu",
        composeDir: "infra",
        composeServices: ["audit"],
      });
      const host = sandbox.hosts[0]!;
      const commandId = await runScript(sandbox, clients.ssm, script, { instanceIds: [host.instanceId] });
      const result = await waitForInvocation(clients.ssm, commandId, host.instanceId);
      expect(result.ResponseCode, result.StandardErrorContent).toBe(ARCHIVE_REFUSED_EXIT);
      expect(result.Status).toBe("Failed");
      expect(result.StandardErrorContent).toContain(message);
      expect(result.StandardOutputContent).toContain("==> vet archive members");
      expect(result.StandardOutputContent).not.toContain("==> extract");
      expect(result.StandardOutputContent).not.toContain("docker compose build");
      const repo = repoOnHost(sandbox, host);
      expect(fs.existsSync(path.join(repo, "services/audit/CANARY"))).toBe(false);
      expect(fs.existsSync(path.join(repo, entry.name))).toBe(false);
    }, 30_000);
  }
});
