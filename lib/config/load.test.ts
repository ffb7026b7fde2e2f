import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseConfig } from "./load";

const valid = {
  repo: ".",
  environments: {
    prod: {
      region: "ap-south-1",
      bucket: "acp-fix-1779860735",
      hosts: [{ instanceId: "i-0123456789abcdef0", name: "EC2 a" }],
      repoPath: "/home/ubuntu/aegis",
    },
  },
  services: {
    ui: { paths: ["ui/dist", "ui/nginx.conf"], replace: ["ui/dist"], build: { command: "npm run build", dir: "ui" }, compose: ["ui"] },
    audit: { paths: ["services/audit/"], compose: ["audit"] },
  },
};

function problemsOf(raw: unknown): { field: string; message: string }[] {
  try {
    parseConfig(raw, "/x/deckhand.config.json");
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain("/x/deckhand.config.json");
    return (error as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("config", () => {
  it("fills defaults and resolves the repo relative to the file", () => {
    const config = parseConfig(valid, "/x/deckhand.config.json");
    expect(config.repo).toBe("/x");
    expect(config.bundleNamePrefix).toBe("acp_");
    expect(config.environments.prod).toMatchObject({ prefix: "deployments/", retentionDays: 7, composeDir: "infra", fileOwner: "ubuntu:ubuntu", executionTimeoutSeconds: 600 });
    expect(config.services.audit.paths).toEqual(["services/audit"]);
  });

  it("names the field of every problem", () => {
    const bad = structuredClone(valid) as any;
    bad.environments.prod.hosts[0].instanceId = "web-1";
    bad.environments.prod.region = "Mumbai";
    bad.services.audit.paths = ["../secrets"];
    bad.services["bad name"] = { paths: ["x"] };
    const fields = problemsOf(bad).map((p) => p.field);
    expect(fields).toEqual(
      expect.arrayContaining(["environments.prod.hosts[0].instanceId", "environments.prod.region", "services.audit.paths[0]", "services.bad name"]),
    );
  });

  it("refuses values that would be unsafe in a host script", () => {
    const bad = structuredClone(valid) as any;
    bad.environments.prod.repoPath = "/home/ubuntu/aegis; rm -rf /";
    bad.services.audit.compose = ["audit$(reboot)"];
    bad.environments.prod.fileOwner = "root `id`";
    const fields = problemsOf(bad).map((p) => p.field);
    expect(fields).toEqual(expect.arrayContaining(["environments.prod.repoPath", "services.audit.compose[0]", "environments.prod.fileOwner"]));
  });

  it("refuses a replaced dir outside the service's paths", () => {
    const bad = structuredClone(valid) as any;
    bad.services.audit.replace = ["ui/dist"];
    expect(problemsOf(bad)).toEqual([{ field: "services.audit.replace[0]", message: expect.stringContaining("not inside") }]);
  });

  it("reports a missing file, broken JSON and a missing repo by file name", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "deckhand-config-"));
    const file = path.join(dir, "deckhand.config.json");
    await expect(loadConfig(file)).rejects.toThrow(`${file}: file not found`);
    await fs.writeFile(file, "{ nope");
    await expect(loadConfig(file)).rejects.toThrow(/not valid JSON/);
    await fs.writeFile(file, JSON.stringify({ ...valid, repo: "./missing" }));
    await expect(loadConfig(file)).rejects.toThrow(/repo: .*missing is not a directory/);
  });
});

describe("the README's example config", () => {
  it("is valid, so the documented Aegis setup cannot rot", async () => {
    const readme = await fs.readFile(path.resolve(import.meta.dirname, "../../README.md"), "utf8");
    const example = /## Using it with real AWS[\s\S]*?```json\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeTruthy();
    const config = parseConfig(JSON.parse(example!), "README.md");
    expect(Object.keys(config.services)).toEqual(["ui", "audit", "gateway"]);
    expect(config.environments.prod.hosts).toHaveLength(2);
  });
});
