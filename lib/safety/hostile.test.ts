// The hostile suite: hundreds of hostile inputs through every config field, every server-action
// input and every API query parameter; each must be refused with a clear message naming the field,
// or handled inertly. Then generated scripts carrying injected values run on a sandbox host and a
// canary file must never appear.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, environmentOf, parseConfig, type LoadedConfig } from "../config/load";
import { panelToken } from "../panel/guard";
import { ACTION_TOKEN_FIELD } from "../panel/names";
import { composeScript, type ComposeScriptInput } from "../remote/compose-script";
import { shellQuote, UnsafeValueError } from "../remote/shell";
import { startSandbox, type Sandbox } from "../sandbox";
import { FAST_TIMING, runScript, sandboxClients, waitForInvocation } from "../sandbox/testClients";
import { runAction } from "../server/action";
import { ACTION_SCHEMAS, RESERVED_NAMES } from "../server/action-schemas";
import { parseBundlesQuery, parseDeployId } from "../server/query-params";
import { canaryPayloads, HOSTILE_VALUES, INERT_TOKEN } from "./hostile-values";

const FILE = "/x/deckhand.config.json";
const validConfig = () => ({
  repo: ".",
  bundleNamePrefix: "acp_",
  environments: {
    prod: {
      region: "ap-south-1",
      bucket: "acp-fix-1779860735",
      prefix: "deployments/",
      hosts: [{ instanceId: "i-0123456789abcdef0", name: "EC2 a" }],
      repoPath: "/home/ubuntu/aegis",
      composeDir: "infra",
      fileOwner: "ubuntu:ubuntu",
      output: { cloudWatchLogGroup: "/deckhand/ssm", s3Bucket: "acp-fix-1779860735", s3Prefix: "ssm-output/" },
      albUrl: "http://127.0.0.1:8080",
    },
  },
  services: {
    ui: { paths: ["ui/dist", "ui/nginx.conf"], replace: ["ui/dist"], build: { command: "npm run build", dir: "ui" }, compose: ["ui"] },
    audit: { paths: ["services/audit"], compose: ["audit"] },
  },
});
type RawConfig = ReturnType<typeof validConfig> & Record<string, unknown>;

/**
 * Every config field. `scripted` fields reach a host script or an S3 key: an accepted value must be
 * an inert token. `key` fields are record keys: accepted ones must be own, non-reserved keys.
 * `local` fields are the operator's own machine (repo path, build command, display name): any text
 * is data there, so acceptance is inert by design; they still must not break the rest of the config.
 */
const CONFIG_FIELDS: { field: string; kind: "scripted" | "key" | "local"; set(c: RawConfig, v: string): void; get(c: LoadedConfig): unknown }[] = [
  { field: "repo", kind: "local", set: (c, v) => (c.repo = v), get: (c) => c.repo },
  { field: "bundleNamePrefix", kind: "scripted", set: (c, v) => (c.bundleNamePrefix = v), get: (c) => c.bundleNamePrefix },
  { field: "environments", kind: "key", set: (c, v) => ((c.environments as Record<string, unknown>) = { [v]: c.environments.prod }), get: (c) => Object.keys(c.environments)[0] },
  { field: "environments.prod.region", kind: "scripted", set: (c, v) => (c.environments.prod.region = v), get: (c) => c.environments.prod!.region },
  { field: "environments.prod.bucket", kind: "scripted", set: (c, v) => (c.environments.prod.bucket = v), get: (c) => c.environments.prod!.bucket },
  { field: "environments.prod.prefix", kind: "scripted", set: (c, v) => (c.environments.prod.prefix = v), get: (c) => c.environments.prod!.prefix },
  { field: "environments.prod.hosts[0].instanceId", kind: "scripted", set: (c, v) => (c.environments.prod.hosts[0]!.instanceId = v), get: (c) => c.environments.prod!.hosts[0]!.instanceId },
  { field: "environments.prod.hosts[0].name", kind: "local", set: (c, v) => (c.environments.prod.hosts[0]!.name = v), get: (c) => c.environments.prod!.hosts[0]!.name },
  { field: "environments.prod.repoPath", kind: "scripted", set: (c, v) => (c.environments.prod.repoPath = v), get: (c) => c.environments.prod!.repoPath },
  { field: "environments.prod.composeDir", kind: "scripted", set: (c, v) => (c.environments.prod.composeDir = v), get: (c) => c.environments.prod!.composeDir },
  { field: "environments.prod.fileOwner", kind: "scripted", set: (c, v) => (c.environments.prod.fileOwner = v), get: (c) => c.environments.prod!.fileOwner },
  { field: "environments.prod.output.cloudWatchLogGroup", kind: "scripted", set: (c, v) => (c.environments.prod.output.cloudWatchLogGroup = v), get: (c) => c.environments.prod!.output.cloudWatchLogGroup },
  { field: "environments.prod.output.s3Bucket", kind: "scripted", set: (c, v) => (c.environments.prod.output.s3Bucket = v), get: (c) => c.environments.prod!.output.s3Bucket },
  { field: "environments.prod.output.s3Prefix", kind: "scripted", set: (c, v) => (c.environments.prod.output.s3Prefix = v), get: (c) => c.environments.prod!.output.s3Prefix },
  { field: "environments.prod.albUrl", kind: "local", set: (c, v) => (c.environments.prod.albUrl = v), get: (c) => c.environments.prod!.albUrl },
  { field: "services", kind: "key", set: (c, v) => ((c.services as Record<string, unknown>) = { [v]: c.services.audit }), get: (c) => Object.keys(c.services)[0] },
  { field: "services.audit.paths[0]", kind: "scripted", set: (c, v) => (c.services.audit.paths[0] = v), get: (c) => c.services.audit!.paths[0] },
  { field: "services.ui.replace[0]", kind: "scripted", set: (c, v) => (c.services.ui.replace[0] = v), get: (c) => c.services.ui!.replace[0] },
  { field: "services.ui.build.command", kind: "local", set: (c, v) => (c.services.ui.build.command = v), get: (c) => c.services.ui!.build!.command },
  { field: "services.ui.build.dir", kind: "scripted", set: (c, v) => (c.services.ui.build.dir = v), get: (c) => c.services.ui!.build!.dir },
  { field: "services.audit.compose[0]", kind: "scripted", set: (c, v) => (c.services.audit.compose[0] = v), get: (c) => c.services.audit!.compose[0] },
];

const inert = (value: unknown) => typeof value === "string" && INERT_TOKEN.test(value) && !value.split("/").includes("..");
const short = (value: string) => JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…(${value.length})` : value);
const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();

let cases = 0;
afterAll(() => {
  // Nothing anywhere in the suite polluted Object.prototype.
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

describe("hostile config values", () => {
  for (const { field, kind, set, get } of CONFIG_FIELDS) {
    it(`${field}: every hostile value is refused naming the field, or inert`, () => {
      const wrong: string[] = [];
      for (const value of HOSTILE_VALUES) {
        cases++;
        const raw = structuredClone(validConfig()) as RawConfig;
        set(raw, value);
        let config: LoadedConfig;
        try {
          config = parseConfig(raw, FILE);
        } catch (error) {
          if (!(error instanceof ConfigError)) wrong.push(`${short(value)}: threw ${(error as Error).name}, not a ConfigError`);
          else if (!error.message.startsWith(`${FILE}: `)) wrong.push(`${short(value)}: message does not name the file`);
          else if (!error.problems.some((p) => p.field.startsWith(field.split(".")[0]!.replace(/\[.*$/, "")))) wrong.push(`${short(value)}: no problem names ${field}: ${error.message}`);
          continue;
        }
        const got = get(config);
        if (kind === "scripted" && !inert(got)) wrong.push(`${short(value)}: accepted as ${short(String(got))}, not an inert token`);
        if (kind === "key" && (RESERVED_NAMES.has(String(got)) || !inert(got))) wrong.push(`${short(value)}: accepted as key ${short(String(got))}`);
        if (kind === "key" && value !== got) wrong.push(`${short(value)}: silently became key ${short(String(got))}`);
      }
      expect(wrong, wrong.join("\n")).toEqual([]);
    });
  }

  it("an environment lookup never reaches Object.prototype", () => {
    const config = parseConfig(validConfig(), FILE);
    for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty", "prototype"]) {
      cases++;
      expect(() => environmentOf(config, name)).toThrow(/No environment/);
    }
  });
});

describe("hostile server-action inputs", () => {
  const valid: Record<string, Record<string, unknown>> = {
    startDeployAction: { environment: "prod", services: ["audit"], reviewScript: false },
    confirmDeployAction: { deployId: "cm1abc", scriptSha256: "a".repeat(64) },
    cancelDeployAction: { deployId: "cm1abc" },
    resumeWatchingAction: { deployId: "cm1abc" },
    preDeployChecklistAction: { environment: "prod", services: ["audit"] },
    breakLockAction: { environment: "prod" },
    runSetupCheckAction: { environment: "prod" },
    readHostsAction: { environment: "prod" },
    rerunChecksAction: { deployId: "cm1abc" },
    runRunbookAction: { environment: "prod", action: "docker-dns-fix", instanceId: "i-0123456789abcdef0" },
    retryFailedHostsAction: { deployId: "cm1abc" },
    setSandboxFaultAction: { instanceId: "i-0123456789abcdef0", fault: "slow", on: true },
    previewRedeployAction: { environment: "prod", bundleKey: "deployments/acp_audit_1.tar.gz", services: ["audit"], kind: "rollback" },
    startRedeployAction: { environment: "prod", bundleKey: "deployments/acp_audit_1.tar.gz", services: ["audit"], kind: "rollback", planSha256: "b".repeat(64) },
  };
  for (const [action, schema] of Object.entries(ACTION_SCHEMAS)) {
    it(`${action}: every hostile value in every field is refused naming the field, or inert`, () => {
      expect(schema.safeParse(valid[action]).success).toBe(true);
      const wrong: string[] = [];
      for (const [field, example] of Object.entries(valid[action]!)) {
        if (typeof example === "boolean") continue;
        for (const value of HOSTILE_VALUES) {
          cases++;
          const input = { ...valid[action], [field]: Array.isArray(example) ? [value] : value };
          const parsed = schema.safeParse(input);
          if (!parsed.success) {
            if (!parsed.error.issues.every((i) => i.path[0] === field && i.message.length > 0)) wrong.push(`${field}=${short(value)}: issue does not name ${field}`);
            continue;
          }
          const got = (parsed.data as Record<string, unknown>)[field];
          const values = Array.isArray(got) ? got : [got];
          if (!values.every((v) => inert(v) && !String(v).startsWith("/"))) wrong.push(`${field}=${short(value)}: accepted, not inert`);
          if (["environment", "services"].includes(field) && values.some((v) => RESERVED_NAMES.has(String(v)))) wrong.push(`${field}=${short(value)}: reserved name accepted`);
        }
      }
      expect(wrong, wrong.join("\n")).toEqual([]);
    });
  }

  it("refuses inputs of the wrong shape, and never lets __proto__ keys reach Object.prototype", () => {
    const shapes: unknown[] = [null, undefined, 42, "prod", [], [1, 2], JSON.parse('{"__proto__": {"polluted": true}}'), JSON.parse('{"constructor": {"prototype": {"polluted": true}}}')];
    for (const schema of Object.values(ACTION_SCHEMAS)) {
      for (const shape of shapes) {
        cases++;
        expect(schema.safeParse(shape).success).toBe(false);
      }
    }
  });

  it("runAction refuses a call without this launch's token, before validating or running anything", async () => {
    let ran = 0;
    const schema = ACTION_SCHEMAS.cancelDeployAction;
    const handler = async () => void ran++;
    const inputs: unknown[] = [
      { deployId: "cm1abc" },
      { deployId: "cm1abc", [ACTION_TOKEN_FIELD]: "" },
      { deployId: "cm1abc", [ACTION_TOKEN_FIELD]: "forged" },
      { deployId: "cm1abc", [ACTION_TOKEN_FIELD]: panelToken().slice(1) },
      { deployId: "cm1abc", [ACTION_TOKEN_FIELD]: [panelToken()] },
      Object.assign(Object.create({ [ACTION_TOKEN_FIELD]: panelToken() }), { deployId: "cm1abc" }),
      null,
    ];
    for (const input of inputs) {
      cases++;
      const result = await runAction(schema, input, handler);
      expect(result).toMatchObject({ ok: false, error: expect.stringMatching(/panel token/) });
    }
    expect(ran).toBe(0);
    // With the token: validated (and the token itself is not part of the handler's input), then run.
    const bad = await runAction(schema, { deployId: "$(id)", [ACTION_TOKEN_FIELD]: panelToken() }, handler);
    expect(bad).toMatchObject({ ok: false, error: expect.stringMatching(/^deployId: not a deploy id/) });
    const seen: unknown[] = [];
    const good = await runAction(schema, { deployId: "cm1abc", [ACTION_TOKEN_FIELD]: panelToken() }, async (input) => void seen.push(input));
    expect(good.ok).toBe(true);
    expect(seen).toEqual([{ deployId: "cm1abc" }]);
  });
});

describe("hostile API query parameters", () => {
  it("/api/bundles: environment refused with a clear message, page read as a plain number", () => {
    const wrong: string[] = [];
    for (const value of HOSTILE_VALUES) {
      cases += 2;
      const parsed = parseBundlesQuery(new URLSearchParams({ environment: value, page: "1" }));
      if (parsed.ok) wrong.push(`environment=${short(value)} accepted`);
      else if (!parsed.error.startsWith("environment: ")) wrong.push(`environment=${short(value)}: ${parsed.error}`);
      const page = parseBundlesQuery(new URLSearchParams({ environment: "prod", page: value }));
      if (!page.ok || page.value.page !== 1) wrong.push(`page=${short(value)} not read as 1`);
    }
    expect(wrong, wrong.join("\n")).toEqual([]);
    expect(parseBundlesQuery(new URLSearchParams("environment=prod&page=3&refresh=1"))).toEqual({ ok: true, value: { environment: "prod", page: 3, refresh: true } });
  });

  it("/api/deploys/[id]: refused with a clear message, or an inert token for a lookup", () => {
    for (const value of HOSTILE_VALUES) {
      cases++;
      const parsed = parseDeployId(value);
      if (parsed.ok) expect(inert(parsed.value), short(value)).toBe(true);
      else expect(parsed.error).toMatch(/^deploy id: not a deploy id/);
    }
  });

  it(`counts at least 200 hostile cases`, () => {
    expect(cases).toBeGreaterThanOrEqual(200);
  });
});

describe("injected values never run on a host", () => {
  let sandbox: Sandbox;
  let clients: ReturnType<typeof sandboxClients>;
  const canaryDir = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-canary-"));
  const canary = path.join(canaryDir, "CANARY");
  beforeAll(async () => {
    sandbox = await startSandbox({ timing: FAST_TIMING });
    clients = sandboxClients(sandbox);
  }, 60_000);
  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(canaryDir, { recursive: true, force: true });
  });

  async function runOnHost(script: string) {
    const host = sandbox.hosts[0]!;
    const commandId = await runScript(sandbox, clients.ssm, script, { instanceIds: [host.instanceId] });
    return waitForInvocation(clients.ssm, commandId, host.instanceId);
  }

  it("composeScript: every canary payload in every field is refused, or the script runs and the canary never appears", async () => {
    const base: ComposeScriptInput = {
      deployLabel: "hostile",
      repoPath: sandbox.remoteRepoPath,
      region: sandbox.region,
      bucket: sandbox.bucket,
      key: "deployments/acp_hostile_1.tar.gz",
      sha256: "a".repeat(64),
      replace: [],
      paths: ["services/audit"],
      owner: "ubuntu:ubuntu",
      composeDir: "infra",
      composeServices: ["audit"],
    };
    // Canary payloads (refused), plus odd values the patterns accept, whose scripts then really run.
    const odd = ["-rf", "--help", "x..y", "__proto__", "constructor", "a.b_c-d"];
    const payloads = [...canaryPayloads(canary), ...canaryPayloads(canary).map((p) => `services/${p}`), ...odd];
    const fields: (keyof ComposeScriptInput)[] = ["deployLabel", "repoPath", "region", "bucket", "key", "sha256", "replace", "paths", "owner", "composeDir", "composeServices", "extractPaths"];
    const generated: string[] = [];
    let refused = 0;
    for (const field of fields) {
      for (const payload of payloads) {
        const list = ["replace", "paths", "composeServices", "extractPaths"].includes(field);
        try {
          generated.push(composeScript({ ...base, [field]: list ? [payload] : payload }));
        } catch (error) {
          expect(error).toBeInstanceOf(UnsafeValueError);
          expect((error as Error).message).toMatch(/^refusing /);
          refused++;
        }
      }
    }
    expect(refused + generated.length).toBe(fields.length * payloads.length);
    expect(refused).toBeGreaterThanOrEqual(fields.length * canaryPayloads(canary).length * 2);
    expect(generated.length).toBeGreaterThan(0);
    // Whatever was generated runs for real (it stops at the sha256 check: the key does not exist).
    for (const script of generated) {
      const result = await runOnHost(script);
      expect(result.Status).toBe("Failed");
    }
    expect(fs.existsSync(canary)).toBe(false);
  });

  it("shell quoting: every hostile value, single-quoted into a script, reaches the host byte for byte and runs nothing", async () => {
    const values = [...HOSTILE_VALUES, ...canaryPayloads(canary)].filter((v) => !v.includes("\0"));
    for (const value of HOSTILE_VALUES.filter((v) => v.includes("\0"))) expect(() => shellQuote(value)).toThrow(UnsafeValueError);
    const script = ["#!/bin/bash", "set -euo pipefail", ...values.map((v) => `printf '%s\\0' ${shellQuote(v)}`), ""].join("\n");
    const result = await runOnHost(script);
    expect(result.Status, result.StandardErrorContent).toBe("Success");
    expect(fs.existsSync(canary)).toBe(false);
    // SSM truncates stdout at 24,000 characters: compare what came back, in order.
    const echoed = (result.StandardOutputContent ?? "").split("\0");
    const complete = echoed.slice(0, -1);
    expect(complete.length).toBeGreaterThan(10);
    expect(complete).toEqual(values.slice(0, complete.length));
  });
});
