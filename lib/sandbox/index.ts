// The Deckhand sandbox: local stand-ins for S3, SSM Run Command, CloudWatch Logs, two EC2 hosts and an ALB.
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildApp } from "fauxqs";
import type { FastifyReply, FastifyRequest } from "fastify";
import { Alb } from "./alb";
import { authorize, newSandboxCredentials, s3AuthError, verifySignature, type SandboxCredentials } from "./auth";
// Plain ESM shared with the host tools (typed by JSDoc).
import { signedFetch } from "./tools/sigv4.mjs";
import { startJsonService, TokenBucket, type RunningServer } from "./awsJson";
import { startControlServer } from "./control";
import { FAULT_NAMES, isFaultName, SANDBOX_FAULTS, type FaultName } from "./faults";
import { SimulatedHost } from "./hosts";
import { startElbService } from "./elb";
import { seedProvisionedBundle } from "./seed-bundle";
import { dnsStillPoisoned, setDnsPoisoned } from "./host-faults";
import { LogStore } from "./logs";
import { startConditionalS3 } from "./s3Conditional";
import { startSts } from "./sts";
import { buildSampleUi, createSampleRepo } from "./sampleRepo";
import { SsmService } from "./ssm";

export { FAULT_NAMES, SANDBOX_FAULTS, type FaultName } from "./faults";
export { bumpSampleRepo, buildSampleUi } from "./sampleRepo";

export interface SandboxTiming {
  pendingMs: number;
  invisibleMs: number;
  logFlushMs: number;
  healthIntervalMs: number;
  slowMs: number;
  /** How long after upload a CloudWatch event becomes searchable (FilterLogEvents). */
  ingestionDelayMs: number;
  /** How long after upload it can be read from its own stream (GetLogEvents): shorter than a search, never 0. */
  streamReadDelayMs: number;
  /** Multiplies AWS's long waits (offline delivery: TimeoutSeconds + executionTimeout). Default: DECKHAND_SANDBOX_TIME_SCALE or 1. */
  timeScale: number;
}

export interface SandboxOptions {
  root?: string;
  region?: string;
  bucket?: string;
  timing?: Partial<SandboxTiming>;
  throttle?: { ratePerSecond: number; burst: number } | null;
  /** Per host name, its clock minus the true time. Default: EC2 b runs 4 s behind. */
  clockSkewMs?: Record<string, number>;
  /** Other managed instances the account lists before the fleet (Inactive). Default 10: the fleet is on page 2. */
  otherInstances?: number;
  /** The sample app's admin password (random per start when absent); exposed only as env AEGIS_PROBE_PASSWORD. */
  probePassword?: string;
  /** Put the bundle the hosts start with in the bucket, made by hand as the runbooks do (default off). */
  seedBundle?: boolean;
}

export interface SandboxHost {
  instanceId: string;
  name: string;
  port: number;
  fsRoot: string;
}

export interface Sandbox {
  root: string;
  region: string;
  bucket: string;
  endpoints: { s3: string; ssm: string; logs: string; sts: string; alb: string; elb: string; control: string };
  /** The ELBv2 target group the sandbox ALB answers DescribeTargetHealth for. */
  targetGroupArn: string;
  /** The hand-made bundle the hosts were provisioned from, when `seedBundle` was asked for. */
  seededBundleKey: string | null;
  /** Random per start: every endpoint refuses requests not signed with this access key. */
  credentials: SandboxCredentials;
  hosts: SandboxHost[];
  repoDir: string;
  configPath: string;
  remoteRepoPath: string;
  env: Record<string, string>;
  setFault(instanceId: string, fault: FaultName, on: boolean): void;
  faults(): Record<string, FaultName[]>;
  /** Take a host out of the ALB as a deregistration does (DescribeTargetHealth says draining), or back in. */
  setDraining(instanceId: string, draining: boolean): void;
  composeLog(instanceId: string): Promise<string[]>;
  /** systemd units on a host (the systemd profile): which are active. */
  units(instanceId: string): { unit: string; active: boolean; pid: number | null }[];
  /** Pushes `image:tag` to the sandbox's registry (what CI's docker push does in seeds/002), so hosts can pull it. */
  pushImage(image: string, tag: string): void;
  stop(): Promise<void>;
}

const DEFAULT_TIMING: Omit<SandboxTiming, "timeScale"> = { pendingMs: 300, invisibleMs: 400, logFlushMs: 1000, healthIntervalMs: 1000, slowMs: 3000, ingestionDelayMs: 2500, streamReadDelayMs: 300 };
const DEFAULT_CLOCK_SKEW_MS: Record<string, number> = { "EC2 b": -4000 };
export const SANDBOX_ACCOUNT_ID = "000000000000";
/** The log group the generated config names; created at start, as the README's setup has the operator do. */
export const SANDBOX_LOG_GROUP = "/deckhand/ssm";

function timeScaleFromEnv(): number {
  const raw = process.env.DECKHAND_SANDBOX_TIME_SCALE;
  if (raw === undefined || raw === "") return 1;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || value > 1) throw new Error(`DECKHAND_SANDBOX_TIME_SCALE must be a number in (0, 1], got ${JSON.stringify(raw)}`);
  return value;
}
const DEFAULT_THROTTLE = { ratePerSecond: 40, burst: 80 };
const BIN_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "bin");
const SERVICES = ["ui", "audit", "gateway"];

function newInstanceId(): string {
  return `i-${randomBytes(9).toString("hex").slice(0, 17)}`;
}

function validThrottle(value: unknown): { ratePerSecond: number; burst: number } | null {
  if (value === null) return null;
  const t = value as { ratePerSecond?: unknown; burst?: unknown } | undefined;
  if (!t || typeof t.ratePerSecond !== "number" || typeof t.burst !== "number" || t.ratePerSecond <= 0 || t.burst < 1) {
    throw new Error("throttle must be null or { ratePerSecond > 0, burst >= 1 }");
  }
  return { ratePerSecond: t.ratePerSecond, burst: t.burst };
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const createdRoot = !options.root;
  const root = path.resolve(options.root ?? (await fs.promises.mkdtemp(path.join(os.tmpdir(), "deckhand-sandbox-"))));
  const region = options.region ?? "ap-south-1";
  const bucket = options.bucket ?? "deckhand-sandbox-deploys";
  const timing: SandboxTiming = { ...DEFAULT_TIMING, timeScale: options.timing?.timeScale ?? timeScaleFromEnv(), ...options.timing };
  const clockSkewMs = options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  let throttle = options.throttle === undefined ? DEFAULT_THROTTLE : options.throttle;
  let bucketLimiter = throttle ? new TokenBucket(throttle.ratePerSecond, throttle.burst) : null;
  let throttledResponses = 0;

  // A fresh fleet each start (S3 is in memory); the sample repo survives so an operator's edits are kept.
  fs.rmSync(path.join(root, "hosts"), { recursive: true, force: true });
  const mountPoint = path.join(root, "ec2");
  fs.mkdirSync(mountPoint, { recursive: true });
  const repoDir = path.join(root, "repo");
  if (!fs.existsSync(path.join(repoDir, ".git"))) createSampleRepo(repoDir);
  else if (!fs.existsSync(path.join(repoDir, "ui/dist"))) buildSampleUi(repoDir);
  const remoteRepoPath = path.join(mountPoint, "home/ubuntu/aegis");

  const servers: RunningServer[] = [];
  const credentials = newSandboxCredentials();
  const s3App = buildApp({ logger: false, defaultRegion: region });
  // Before any S3 route (and fauxqs's own /_fauxqs and /health endpoints): a signed request with our key.
  // The body is not read yet: S3 signs its hash in x-amz-content-sha256, which the signature covers.
  s3App.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    const denied = authorize(request.raw, credentials) ?? (await verifySignature(request.raw, null, credentials));
    if (!denied) return;
    const error = s3AuthError(denied, request.url.split("?")[0] ?? "/");
    return reply.code(error.status).header("content-type", "application/xml").send(error.xml);
  });
  const s3 = (method: string, url: string, body?: string): Promise<Response> => signedFetch(url, { method, body }, { credentials, region, service: "s3" });
  const hosts: SimulatedHost[] = [];
  let alb: Alb | undefined;
  let ssm: SsmService | undefined;
  let stopped = false;

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    ssm?.stop();
    await Promise.all(hosts.map((h) => h.stop()));
    await alb?.stop();
    await Promise.all(servers.map((s) => s.close()));
    await s3App.close();
    if (createdRoot) fs.rmSync(root, { recursive: true, force: true });
  };

  try {
    const fauxqsUrl = (await s3App.listen({ host: "127.0.0.1", port: 0 })).replace("localhost", "127.0.0.1");
    // fauxqs ignores If-None-Match on writes; the proxy in front makes it as strict as S3 (fauxqs still checks signatures).
    const s3Front = await startConditionalS3(fauxqsUrl, { credentials, region });
    servers.push(s3Front);
    const s3Url = s3Front.url;
    const created = await s3("PUT", `${s3Url}/${bucket}`);
    if (!created.ok) throw new Error(`could not create bucket ${bucket}: HTTP ${created.status}`);

    // The sample app's login: every host's gateway knows the password's hash and shares a token key.
    const probePassword = options.probePassword ?? randomBytes(15).toString("base64url");
    const appSecrets = JSON.stringify({ passwordSha256: createHash("sha256").update(probePassword).digest("hex"), tokenKey: randomBytes(32).toString("hex") });
    for (const name of ["EC2 a", "EC2 b"]) {
      const host = new SimulatedHost({ root, instanceId: newInstanceId(), name, mountPoint, binDir: BIN_DIR, s3Endpoint: s3Url, credentials, region, slowMs: timing.slowMs, clockSkewMs: clockSkewMs[name] ?? 0 });
      hosts.push(host);
      await host.startFrontServer();
      fs.writeFileSync(path.join(host.stateDir, "app.json"), appSecrets, { mode: 0o600 });
      // What the host's `curl localhost/` reaches (its nginx on port 80).
      fs.writeFileSync(path.join(host.stateDir, "front-port"), String(host.port));
    }

    // `logs-denied` is the laptop's policy: switched on any host, every Logs call is denied.
    const logs = new LogStore(region, SANDBOX_ACCOUNT_ID, { ingestionDelayMs: timing.ingestionDelayMs, streamReadDelayMs: timing.streamReadDelayMs, denied: () => hosts.some((h) => h.faults.has("logs-denied")) });
    logs.createGroup(SANDBOX_LOG_GROUP);
    ssm = new SsmService({
      region,
      s3Endpoint: s3Url,
      hosts,
      otherInstances: Array.from({ length: options.otherInstances ?? 10 }, (_, i) => ({ instanceId: newInstanceId(), name: `retired-${i + 1}` })),
      logs,
      timing,
      workRoot: path.join(root, "hosts", "ssm-agent"),
      writeOutput: async (outputBucket, key, body) => {
        const url = `${s3Url}/${outputBucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
        const response = await s3("PUT", url, body);
        if (!response.ok) throw new Error(`PUT s3://${outputBucket}/${key}: HTTP ${response.status}`);
      },
    });
    const ssmServer = await startJsonService({
      targetPrefix: "AmazonSSM",
      operations: ssm.operations(),
      throttle: () => bucketLimiter,
      onThrottled: () => throttledResponses++,
      credentials,
    });
    servers.push(ssmServer);
    const logsServer = await startJsonService({ targetPrefix: "Logs_20140328", operations: logs.operations(), credentials });
    servers.push(logsServer);
    const stsServer = await startSts({ account: SANDBOX_ACCOUNT_ID, arn: `arn:aws:iam::${SANDBOX_ACCOUNT_ID}:user/deckhand-sandbox`, userId: "AIDASANDBOXDECKHAND0" }, credentials);
    servers.push(stsServer);

    await Promise.all(hosts.map((host) => provision(host, repoDir, remoteRepoPath, root)));
    const seededBundleKey = options.seedBundle
      ? await seedProvisionedBundle({ s3Url, bucket, repoDir, paths: ["ui/dist", "ui/nginx.conf", "services/audit", "services/gateway"], put: (url, body) => signedFetch(url, { method: "PUT", body: body as unknown as string }, { credentials, region, service: "s3" }) })
      : null;

    alb = new Alb(hosts, timing.healthIntervalMs);
    await alb.start();
    const albRef = alb;
    const targetGroupArn = `arn:aws:elasticloadbalancing:${region}:000000000000:targetgroup/deckhand-sandbox/${randomBytes(8).toString("hex")}`;
    const elbServer = await startElbService({ alb: albRef, targetGroupArn, credentials });
    servers.push(elbServer);

    const findHost = (instanceId: string) => {
      const host = hosts.find((h) => h.instanceId === instanceId);
      if (!host) throw new Error(`Unknown instance id "${instanceId}". Hosts: ${hosts.map((h) => h.instanceId).join(", ")}`);
      return host;
    };
    const setFault = (instanceId: string, fault: unknown, on: unknown) => {
      const host = findHost(instanceId);
      if (!isFaultName(fault)) throw new Error(`Unknown fault "${String(fault)}". Faults: ${FAULT_NAMES.join(", ")}`);
      if (typeof on !== "boolean") throw new Error(`"on" must be true or false`);
      if (on) host.faults.add(fault);
      else host.faults.delete(fault);
      if (fault === "dns") setDnsPoisoned(host.stateDir, on);
    };
    const faults = () =>
      Object.fromEntries(hosts.map((h) => (dnsStillPoisoned(h), [h.instanceId, FAULT_NAMES.filter((f) => h.faults.has(f))])));
    const setDraining = (instanceId: string, draining: unknown) => {
      findHost(instanceId);
      if (typeof draining !== "boolean") throw new Error(`"draining" must be true or false`);
      albRef.setDraining(instanceId, draining);
    };

    const endpoints = { s3: s3Url, ssm: ssmServer.url, logs: logsServer.url, sts: stsServer.url, alb: albRef.url, elb: elbServer.url, control: "" };
    const control = await startControlServer({
      state: () => ({
        region,
        bucket,
        endpoints,
        remoteRepoPath,
        faultCatalog: SANDBOX_FAULTS,
        timing: { ingestionDelayMs: timing.ingestionDelayMs, streamReadDelayMs: timing.streamReadDelayMs, timeScale: timing.timeScale },
        ssm: { throttle, throttledResponses },
        alb: { url: albRef.url, targets: albRef.view() },
        hosts: hosts.map((h) => {
          const target = albRef.view().find((t) => t.instanceId === h.instanceId)!;
          return { instanceId: h.instanceId, name: h.name, port: h.port, clockSkewMs: h.clockSkewMs, faults: faults()[h.instanceId], albHealthy: target.healthy, albDraining: Boolean(target.draining), containers: h.containers() };
        }),
      }),
      setFault,
      setDraining,
      setThrottle: (value) => {
        throttle = validThrottle(value);
        bucketLimiter = throttle ? new TokenBucket(throttle.ratePerSecond, throttle.burst) : null;
      },
    }, credentials);
    servers.push(control);
    endpoints.control = control.url;

    const configPath = path.join(root, "deckhand.config.json");
    fs.writeFileSync(configPath, JSON.stringify(sandboxConfig({ repoDir, region, bucket, hosts, remoteRepoPath, albUrl: albRef.url, targetGroupArn }), null, 2) + "\n");

    return {
      root,
      region,
      bucket,
      endpoints,
      targetGroupArn,
      seededBundleKey,
      credentials,
      hosts: hosts.map((h) => ({ instanceId: h.instanceId, name: h.name, port: h.port, fsRoot: h.fsRoot })),
      repoDir,
      configPath,
      remoteRepoPath,
      env: {
        AWS_ENDPOINT_URL_S3: s3Url,
        AWS_ENDPOINT_URL_SSM: ssmServer.url,
        AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: logsServer.url,
        AWS_ENDPOINT_URL_STS: stsServer.url,
        AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: elbServer.url,
        AWS_REGION: region,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        DECKHAND_CONFIG: configPath,
        DECKHAND_SANDBOX_CONTROL_URL: control.url,
        // The sandbox app's probe password, for the config's passwordEnv (never printed: see cli.ts).
        AEGIS_PROBE_PASSWORD: probePassword,
      },
      setFault: (instanceId, fault, on) => setFault(instanceId, fault, on),
      faults,
      setDraining,
      composeLog: async (instanceId) => findHost(instanceId).composeLog(),
      units: (instanceId) => findHost(instanceId).units(),
      pushImage: (image, tag) => {
        if (!/^[a-z0-9][a-z0-9.-]*(:[0-9]{1,5})?\/[a-z0-9][a-z0-9._\/-]*$/.test(image) || image.split("/").includes("..")) throw new Error(`not an image name: ${image}`);
        if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) throw new Error(`not an image tag: ${tag}`);
        const dir = path.join(root, "registry", image);
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, `${tag}.json`), JSON.stringify({ digest: `sha256:${createHash("sha256").update(`${image}:${tag}`).digest("hex")}`, version: tag }));
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Install the sample repo on a host and bring up version 1 of every service, through the same SSM-style runner. */
async function provision(host: SimulatedHost, repoDir: string, remoteRepoPath: string, root: string): Promise<void> {
  const target = path.join(host.fsRoot, path.relative(path.join(root, "ec2"), remoteRepoPath));
  // A seeds/002 host too: its service directory and systemd's unit directory (the systemd profile).
  for (const dir of ["opt/atta", "etc/systemd/system"]) fs.mkdirSync(path.join(host.fsRoot, dir), { recursive: true });
  fs.cpSync(repoDir, target, { recursive: true, filter: (src) => path.relative(repoDir, src).split(path.sep)[0] !== ".git" });
  let output = "";
  const execution = host.execute(
    `#!/bin/bash\nset -euo pipefail\ncd '${remoteRepoPath}/infra'\ndocker compose build ${SERVICES.join(" ")}\ndocker compose up -d ${SERVICES.join(" ")}\n`,
    {
      workDir: path.join(root, "hosts", host.instanceId, "state", "provision"),
      timeoutMs: 60_000,
      onStdout: (chunk) => (output += chunk),
      onStderr: (chunk) => (output += chunk),
    },
  );
  const { exitCode } = await execution.done;
  if (exitCode !== 0) throw new Error(`provisioning ${host.name} (${host.instanceId}) failed with exit ${exitCode}:\n${output}`);
}

function sandboxConfig(input: { repoDir: string; region: string; bucket: string; hosts: SimulatedHost[]; remoteRepoPath: string; albUrl: string; targetGroupArn: string }) {
  return {
    repo: input.repoDir,
    bundleNamePrefix: "acp_",
    environments: {
      sandbox: {
        region: input.region,
        bucket: input.bucket,
        prefix: "deployments/",
        retentionDays: 7,
        hosts: input.hosts.map((h) => ({ instanceId: h.instanceId, name: h.name })),
        repoPath: input.remoteRepoPath,
        composeDir: "infra",
        fileOwner: "ubuntu:ubuntu",
        executionTimeoutSeconds: 600,
        // Off in the sample so the same tree deployed twice gives two bundles to roll back between.
        reuseBundles: false,
        output: { cloudWatchLogGroup: "/deckhand/ssm", s3Bucket: input.bucket, s3Prefix: "ssm-output/" },
        albUrl: input.albUrl,
        targetGroupArn: input.targetGroupArn,
        // seeds/000's four smoke probes; the password comes from the environment, by name only.
        checks: [{ preset: "aegis-smoke", passwordEnv: "AEGIS_PROBE_PASSWORD" }],
        actions: {
          "docker-dns-fix": {
            description: "Recreate gateway and ui to clear Docker DNS poisoning (seeds/000)",
            command: "docker compose up -d --force-recreate gateway ui",
            dir: "infra",
            hosts: "one",
            offerWhenFailing: ["system health", "audit chain"],
          },
        },
      },
      // The same hosts as a production environment (issue 12): marked everywhere, a deploy or rollback needs
      // its name typed in. Its own prefix, so its bundles and history stay apart from the sandbox's.
      production: {
        production: true,
        region: input.region,
        bucket: input.bucket,
        prefix: "prod-deployments/",
        retentionDays: 7,
        hosts: input.hosts.map((h) => ({ instanceId: h.instanceId, name: h.name })),
        repoPath: input.remoteRepoPath,
        composeDir: "infra",
        fileOwner: "ubuntu:ubuntu",
        executionTimeoutSeconds: 600,
        output: { cloudWatchLogGroup: "/deckhand/ssm", s3Bucket: input.bucket, s3Prefix: "ssm-output/" },
        albUrl: input.albUrl,
        targetGroupArn: input.targetGroupArn,
      },
    },
    services: {
      ui: { paths: ["ui/dist", "ui/nginx.conf"], replace: ["ui/dist"], build: { command: "npm run build", dir: "ui" }, compose: ["ui"] },
      audit: { paths: ["services/audit"], compose: ["audit"] },
      gateway: { paths: ["services/gateway"], compose: ["gateway"] },
    },
  };
}
