// The pre-flight on a sandbox host, over SSM: without the AWS CLI the compose script stops at the
// pre-flight with its reason and extracts nothing; in the pre-signed URL mode the same host deploys.
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { presignBundleUrl } from "../aws/presign";
import { startSandbox, type Sandbox } from "../sandbox/index";
import { FAST_TIMING, runScript, sandboxClients, waitForInvocation } from "../sandbox/testClients";
import { composeScript, type ComposeScriptInput } from "./compose-script";
import { PREFLIGHT_CAUSES, PREFLIGHT_EXIT, preflightFailure } from "./preflight";

let sandbox: Sandbox;
let clients: ReturnType<typeof sandboxClients>;
let hostB: string;
let proofFile: string;
let input: ComposeScriptInput;

beforeAll(async () => {
  sandbox = await startSandbox({ timing: FAST_TIMING });
  clients = sandboxClients(sandbox);
  const host = sandbox.hosts[1]!;
  hostB = host.instanceId;
  proofFile = path.join(host.fsRoot, path.relative(path.join(sandbox.root, "ec2"), sandbox.remoteRepoPath), "services/audit/PREFLIGHT_PROOF");

  // A bundle carrying services/audit plus one new file whose presence on the host proves an extraction.
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-preflight-bundle-"));
  fs.cpSync(path.join(sandbox.repoDir, "services/audit"), path.join(staging, "services/audit"), { recursive: true });
  fs.writeFileSync(path.join(staging, "services/audit/PREFLIGHT_PROOF"), "extracted\n");
  const file = path.join(staging, "bundle.tar.gz");
  execFileSync("tar", ["czf", file, "-C", staging, "services/audit"]);
  const body = fs.readFileSync(file);
  const key = `deployments/acp_audit_preflight_${Date.now()}.tar.gz`;
  await clients.s3.send(new PutObjectCommand({ Bucket: sandbox.bucket, Key: key, Body: body }));
  input = {
    deployLabel: "preflight-proof",
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
    bundleBytes: body.length,
  };
});
afterAll(async () => {
  await sandbox?.stop();
});

describe("pre-flight on a sandbox host", () => {
  it("no-aws-cli: the deploy fails at pre-flight with its reason and nothing is extracted; the pre-signed URL mode deploys on the same host", async () => {
    sandbox.setFault(hostB, "no-aws-cli", true);
    try {
      const composeCallsBefore = (await sandbox.composeLog(hostB)).length;
      const failed = await runScript(sandbox, clients.ssm, composeScript(input), { instanceIds: [hostB] });
      const result = await waitForInvocation(clients.ssm, failed, hostB);
      expect(result).toMatchObject({ Status: "Failed", ResponseCode: PREFLIGHT_EXIT.awsCli, StandardOutputContent: "" });
      expect(result.StandardErrorContent).toBe("PREFLIGHT: the AWS CLI (aws) is not installed on this host\n");
      expect(preflightFailure(result.ResponseCode!, result.StandardErrorContent!)?.cause).toBe(PREFLIGHT_CAUSES[PREFLIGHT_EXIT.awsCli]!.cause);
      expect(fs.existsSync(proofFile)).toBe(false);
      expect((await sandbox.composeLog(hostB)).length).toBe(composeCallsBefore);

      const url = await presignBundleUrl(clients.s3, sandbox.bucket, input.key, 300);
      expect(new URL(url).searchParams.get("X-Amz-Expires")).toBe("300");
      const script = composeScript({ ...input, download: { mode: "presigned-url", url } });
      const ok = await runScript(sandbox, clients.ssm, script, { instanceIds: [hostB] });
      const deployed = await waitForInvocation(clients.ssm, ok, hostB, undefined, 60_000);
      expect(deployed.StandardErrorContent).not.toContain("PREFLIGHT");
      expect(deployed).toMatchObject({ Status: "Success", ResponseCode: 0 });
      expect(deployed.StandardOutputContent).not.toContain("X-Amz-Signature"); // the URL is never echoed
      expect(fs.readFileSync(proofFile, "utf8")).toBe("extracted\n");
      expect((await sandbox.composeLog(hostB)).slice(composeCallsBefore)).toEqual(["build --no-cache audit", "up -d --no-deps --force-recreate audit"]);
    } finally {
      sandbox.setFault(hostB, "no-aws-cli", false);
    }
  });

  it("a wrong repo path (seeds/000's gotcha) fails at pre-flight with exit 86 before anything runs", async () => {
    const commandId = await runScript(sandbox, clients.ssm, composeScript({ ...input, repoPath: "/home/ubuntu/aegis-wrong" }), { instanceIds: [hostB] });
    const result = await waitForInvocation(clients.ssm, commandId, hostB);
    expect(result).toMatchObject({ Status: "Failed", ResponseCode: PREFLIGHT_EXIT.repoPath });
    expect(result.StandardErrorContent).toBe("PREFLIGHT: the repo path /home/ubuntu/aegis-wrong does not exist on this host\n");
  });
});
