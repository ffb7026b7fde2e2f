// Optionally puts in the bucket the bundle the hosts were provisioned with, made the runbook's way
// (`tar czf` of repo paths, no Deckhand manifest): "deployed before Deckhand", so reading the hosts can
// name it instead of "not from any known bundle".
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export async function seedProvisionedBundle(input: { s3Url: string; bucket: string; repoDir: string; paths: string[]; put: (url: string, body: Buffer) => Promise<Response> }): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-seed-"));
  try {
    const file = path.join(dir, "bundle.tar.gz");
    execFileSync("tar", ["czf", file, "-C", input.repoDir, ...input.paths]);
    const key = `deployments/acp_multi_${Math.floor(Date.now() / 1000) - 86_400}.tar.gz`;
    const response = await input.put(`${input.s3Url}/${input.bucket}/${key}`, fs.readFileSync(file));
    if (!response.ok) throw new Error(`seeding ${key}: HTTP ${response.status}`);
    return key;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
