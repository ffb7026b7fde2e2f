import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { describeAwsError, isThrottling } from "../aws/errors";
import { tailCommandOutput, type LogCursor } from "../aws/logs";
import { addObjectMetadata, uploadBundle } from "../aws/s3";
import { cancelCommand, getInvocation, listInvocations, sendScript } from "../aws/ssm";
import { bundleKey } from "../bundle/naming";
import { packBundle, whoAmI } from "../bundle/pack";
import { environmentOf } from "../config/load";
import type { EnvironmentConfig } from "../config/schema";
import {
  appendOutput,
  createHostRuns,
  currentHostRuns,
  getDeploy,
  findActiveDeploy,
  insertDeploy,
  isBundleKeyTaken,
  recordEvent,
  updateDeploy,
  updateHostRun,
} from "../history/deploys";
import { composeScript } from "../remote/compose-script";
import type { DeployContext } from "./context";
import { runJob, withLock } from "./jobs";
import { planDeploy, type DeployPlan } from "./plan";
import { deployOutcome, isTerminalHostStatus, STDERR_LIMIT, STDOUT_LIMIT } from "./status";

export class DeployError extends Error {
  name = "DeployError";
}

export function newDeployId(label: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\..*/, "").replace("T", "-");
  return `${stamp}-${label}-${randomBytes(2).toString("hex")}`;
}

export interface StartDeployRequest {
  environment: string;
  services: string[];
  /** Stop after the upload until the operator has read and confirmed the script. */
  reviewScript?: boolean;
}

/** One deploy at a time per environment: two scripts rebuilding containers on the same hosts would race. */
export async function assertEnvironmentIdle(ctx: DeployContext, environment: string, exceptDeployId?: string): Promise<void> {
  const active = await findActiveDeploy(ctx.db, environment);
  if (active && active.id !== exceptDeployId) {
    throw new DeployError(`Deploy ${active.id} is still ${active.status.replace("_", " ")} on ${environment}: wait for it to end or cancel it first.`);
  }
}

/** Records a new deploy and starts it in the background; returns its id at once. */
export async function startDeploy(ctx: DeployContext, request: StartDeployRequest): Promise<string> {
  const plan = planDeploy(ctx.config, request.environment, request.services);
  const environment = environmentOf(ctx.config, request.environment);
  const id = newDeployId(plan.label);
  await withLock(`environment:${request.environment}`, async () => {
    await assertEnvironmentIdle(ctx, request.environment);
    await insertDeploy(ctx.db, {
      id,
      environment: request.environment,
      kind: "deploy",
      services: plan.services,
      label: plan.label,
      bundleKey: await freshBundleKey(ctx, environment, plan.label),
      bundleBucket: environment.bucket,
      createdBy: whoAmI(),
      reviewScript: request.reviewScript ?? false,
    });
  });
  void runJob(id, () => guarded(ctx, id, () => buildUploadAndSend(ctx, id, plan, environment)));
  return id;
}

/** Keys carry a one-second stamp: a second deploy within the same second must not overwrite the first bundle. */
export async function freshBundleKey(ctx: DeployContext, environment: EnvironmentConfig, label: string): Promise<string> {
  for (let stamp = Math.floor(Date.now() / 1000); ; stamp++) {
    const key = bundleKey(environment.prefix, ctx.config.bundleNamePrefix, label, stamp);
    if (!(await isBundleKeyTaken(ctx.db, environment.bucket, key))) return key;
  }
}

/** Any error that escapes a phase ends the deploy as failed with the error recorded: never dropped. */
export async function guarded(ctx: DeployContext, id: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    const message = describeAwsError(error);
    await recordEvent(ctx.db, id, "error", message).catch(() => undefined);
    await updateDeploy(ctx.db, id, { status: "failed", error: message, finishedAt: new Date() }).catch(() => undefined);
  }
}

async function setStatus(ctx: DeployContext, id: string, status: string, message: string) {
  await updateDeploy(ctx.db, id, { status });
  await recordEvent(ctx.db, id, "state", message);
}

/** Runs a local build command, streaming each output line into the deploy's events. */
async function runBuild(ctx: DeployContext, id: string, step: DeployPlan["builds"][number]): Promise<void> {
  await recordEvent(ctx.db, id, "build", `$ (cd ${step.cwd} && ${step.command})`);
  const child = spawn("bash", ["-c", step.command], { cwd: step.cwd, env: { ...process.env, CI: "true" }, stdio: ["ignore", "pipe", "pipe"] });
  const pending: Promise<void>[] = [];
  const forward = (stream: NodeJS.ReadableStream) => {
    let buffered = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) pending.push(recordEvent(ctx.db, id, "build", line));
    });
    stream.on("end", () => {
      if (buffered) pending.push(recordEvent(ctx.db, id, "build", buffered));
    });
  };
  forward(child.stdout);
  forward(child.stderr);
  const code = await new Promise<number>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (exitCode) => resolve(exitCode ?? 1));
  });
  await Promise.all(pending);
  if (code !== 0) throw new DeployError(`build of ${step.service} failed: \`${step.command}\` exited with ${code} (output above)`);
}

async function buildUploadAndSend(ctx: DeployContext, id: string, plan: DeployPlan, environment: EnvironmentConfig): Promise<void> {
  const deploy = await getDeploy(ctx.db, id);
  if (!deploy) throw new DeployError(`deploy ${id} vanished`);

  if (plan.builds.length > 0) {
    await setStatus(ctx, id, "building", `building ${plan.builds.map((b) => b.service).join(", ")}`);
    for (const step of plan.builds) await runBuild(ctx, id, step);
  }

  await setStatus(ctx, id, "uploading", `packing ${plan.paths.join(" ")} → s3://${deploy.bundleBucket}/${deploy.bundleKey}`);
  const packed = await packBundle({ repoDir: ctx.config.repo, label: plan.label, services: plan.services, paths: plan.paths, replace: plan.replace });
  const total = packed.manifest.files.reduce((sum, f) => sum + f.size, 0);
  await recordEvent(ctx.db, id, "pack", `${packed.manifest.files.length} files, ${total} bytes before compression`, { bytes: 0, total });
  const s3 = ctx.aws(environment.region).s3;
  let lastProgressAt = 0;
  const progressWrites: Promise<void>[] = [];
  await uploadBundle(s3, {
    bucket: deploy.bundleBucket,
    key: deploy.bundleKey,
    body: packed.stream,
    metadata: {
      services: plan.services.join(","),
      label: plan.label,
      "git-sha": packed.manifest.git?.sha ?? "",
      "created-by": packed.manifest.createdBy,
      "deckhand-deploy": id,
    },
    onProgress: (bytes) => {
      if (Date.now() - lastProgressAt < 250) return; // progress is for eyes: a few rows a second is plenty
      lastProgressAt = Date.now();
      progressWrites.push(recordEvent(ctx.db, id, "upload", `${bytes} bytes sent`, { bytes }));
    },
  });
  const { sha256, size } = await packed.done;
  await Promise.all(progressWrites);
  await addObjectMetadata(s3, deploy.bundleBucket, deploy.bundleKey, { sha256 });
  await recordEvent(ctx.db, id, "upload", `uploaded ${size} bytes, sha256 ${sha256}`, { bytes: size, total: size });

  const script = composeScript({
    deployLabel: id,
    repoPath: environment.repoPath,
    region: environment.region,
    bucket: deploy.bundleBucket,
    key: deploy.bundleKey,
    sha256,
    replace: plan.replace,
    paths: plan.paths,
    owner: environment.fileOwner,
    composeDir: environment.composeDir,
    composeServices: plan.composeServices,
  });
  await updateDeploy(ctx.db, id, {
    bundleSha256: sha256,
    bundleSize: size,
    manifest: JSON.stringify(packed.manifest),
    gitSha: packed.manifest.git?.sha ?? null,
    script,
  });

  if (deploy.reviewScript) {
    await setStatus(ctx, id, "awaiting_confirmation", "bundle uploaded; waiting for the operator to confirm the script");
    return;
  }
  await sendAndWatch(ctx, id, environment.hosts, 1);
}

/** Sends the stored script to some hosts as attempt N, then watches until every host ends. */
export async function sendAndWatch(ctx: DeployContext, id: string, hosts: { instanceId: string; name: string }[], attempt: number): Promise<void> {
  const deploy = await getDeploy(ctx.db, id);
  if (!deploy) throw new DeployError(`deploy ${id} vanished`);
  const environment = environmentOf(ctx.config, deploy.environment);
  await setStatus(ctx, id, "sending", `sending the script to ${hosts.map((h) => `${h.name} (${h.instanceId})`).join(", ")}`);
  const commandId = await sendScript(ctx.aws(environment.region).ssm, {
    instanceIds: hosts.map((h) => h.instanceId),
    script: deploy.script,
    executionTimeoutSeconds: environment.executionTimeoutSeconds,
    comment: `Deckhand ${id}${attempt > 1 ? ` attempt ${attempt}` : ""}`,
    cloudWatchLogGroup: environment.output.cloudWatchLogGroup,
    s3Bucket: environment.output.s3Bucket,
    s3Prefix: environment.output.s3Prefix,
  });
  await createHostRuns(ctx.db, id, attempt, commandId, hosts);
  await updateDeploy(ctx.db, id, { commandId, attempt, liveCursor: null, status: "running", finishedAt: null, error: null });
  await recordEvent(ctx.db, id, "send", `SSM command ${commandId} sent (attempt ${attempt})`);
  await watchDeploy(ctx, id);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** SSM lists a new invocation within seconds; after this long without one the host is given up on. */
const NEVER_LISTED_MS = 5 * 60_000;

/** Reads a host's full output from the S3 output prefix, where SSM writes it untruncated. */
async function fullOutputFromS3(ctx: DeployContext, environment: EnvironmentConfig, commandId: string, instanceId: string, stream: "stdout" | "stderr") {
  const { s3Bucket, s3Prefix } = environment.output;
  if (!s3Bucket) return null;
  const prefix = (s3Prefix ?? "").replace(/\/$/, "");
  const key = `${prefix ? `${prefix}/` : ""}${commandId}/${instanceId}/awsrunShellScript/0.awsrunShellScript/${stream}`;
  try {
    const object = await ctx.aws(environment.region).s3.send(new GetObjectCommand({ Bucket: s3Bucket, Key: key }));
    return (await object.Body?.transformToString("utf8")) ?? "";
  } catch {
    return null; // no output on that stream (SSM writes no empty files) or not written yet
  }
}

/** Final status and output of one host, from GetCommandInvocation (24,000 / 8,000 chars) and S3 when configured. */
async function finishHostRun(ctx: DeployContext, environment: EnvironmentConfig, run: { id: string; commandId: string | null; instanceId: string }) {
  const ssm = ctx.aws(environment.region).ssm;
  const invocation = await getInvocation(ssm, run.commandId ?? "", run.instanceId);
  let stdout = invocation.StandardOutputContent ?? "";
  let stderr = invocation.StandardErrorContent ?? "";
  let stdoutTruncated = stdout.length >= STDOUT_LIMIT;
  let stderrTruncated = stderr.length >= STDERR_LIMIT;
  const [fullOut, fullErr] = await Promise.all([
    stdoutTruncated ? fullOutputFromS3(ctx, environment, run.commandId ?? "", run.instanceId, "stdout") : null,
    stderrTruncated ? fullOutputFromS3(ctx, environment, run.commandId ?? "", run.instanceId, "stderr") : null,
  ]);
  if (fullOut !== null) [stdout, stdoutTruncated] = [fullOut, false];
  if (fullErr !== null) [stderr, stderrTruncated] = [fullErr, false];
  await updateHostRun(ctx.db, run.id, {
    status: invocation.Status ?? "Failed",
    statusDetails: invocation.StatusDetails ?? null,
    responseCode: invocation.ResponseCode ?? null,
    stdout,
    stderr,
    stdoutTruncated,
    stderrTruncated,
    finishedAt: new Date(),
  });
}

/**
 * Polls every host of the deploy's current attempt with one ListCommandInvocations call per cycle,
 * tails CloudWatch Logs for live output when the environment enables it, and writes every change
 * to SQLite as it arrives. Safe to call again after a restart: everything it needs is stored.
 */
export async function watchDeploy(ctx: DeployContext, id: string): Promise<void> {
  const baseInterval = ctx.pollIntervalMs ?? 1000;
  let interval = Math.min(baseInterval, 500); // the first answer comes quickly; then settle
  for (;;) {
    const deploy = await getDeploy(ctx.db, id);
    if (!deploy?.commandId) return;
    const environment = environmentOf(ctx.config, deploy.environment);
    const runs = await currentHostRuns(ctx.db, id);
    const open = runs.filter((run) => !isTerminalHostStatus(run.status));
    if (open.length === 0 && deploy.status !== "running") return; // already finished and recorded
    try {
      let changed = false;
      for (const commandId of new Set(open.map((run) => run.commandId ?? ""))) {
        const invocations = await listInvocations(ctx.aws(environment.region).ssm, commandId);
        if (environment.output.cloudWatchLogGroup) {
          changed = (await tailLive(ctx, deploy, environment.region, environment.output.cloudWatchLogGroup, commandId, open)) > 0 || changed;
        }
        for (const run of open.filter((r) => r.commandId === commandId)) {
          // Right after SendCommand SSM may not list a host yet (InvocationDoesNotExist): it stays Pending,
          // but not forever: a host SSM never lists is recorded as failed rather than watched for ever.
          const invocation = invocations.find((i) => i.InstanceId === run.instanceId);
          if (!invocation && Date.now() - run.startedAt.getTime() > NEVER_LISTED_MS) {
            await updateHostRun(ctx.db, run.id, { status: "Failed", statusDetails: "SSM never listed an invocation for this host", responseCode: -1, finishedAt: new Date() });
            await appendOutput(ctx.db, [{ hostRunId: run.id, stream: "status", text: "Failed (SSM never listed an invocation for this host)" }]);
            changed = true;
            continue;
          }
          const status = invocation?.Status;
          if (!status || status === run.status) continue;
          if (isTerminalHostStatus(status)) await finishHostRun(ctx, environment, run);
          else await updateHostRun(ctx.db, run.id, { status, statusDetails: invocation.StatusDetails ?? null });
          await appendOutput(ctx.db, [{ hostRunId: run.id, stream: "status", text: `${status}${invocation.StatusDetails && invocation.StatusDetails !== status ? ` (${invocation.StatusDetails})` : ""}` }]);
          changed = true;
        }
      }
      // Quiet cycles poll a little less often (fewer SSM calls on long builds); any change resets.
      interval = changed ? baseInterval : Math.min(Math.round(interval * 1.5), baseInterval * 3);
    } catch (error) {
      // A bad cycle is recorded and retried more slowly; the deploy is never dropped.
      await recordEvent(ctx.db, id, "watch", describeAwsError(error, "polling SSM"));
      interval = Math.min(interval * 2, isThrottling(error) ? 15_000 : 10_000);
    }
    const outcome = deployOutcome((await currentHostRuns(ctx.db, id)).map((run) => run.status));
    if (outcome) {
      await updateDeploy(ctx.db, id, { status: outcome, finishedAt: new Date() });
      await recordEvent(ctx.db, id, "state", `deploy ${outcome.replace("_", " ")}`);
      return;
    }
    await sleep(interval);
  }
}

/** Appends what CloudWatch Logs has received since the deploy's stored cursor; returns the number of new lines. */
async function tailLive(
  ctx: DeployContext,
  deploy: { id: string; liveCursor: string | null },
  region: string,
  logGroup: string,
  commandId: string,
  runs: { id: string; instanceId: string }[],
): Promise<number> {
  const cursor: LogCursor = deploy.liveCursor ? JSON.parse(deploy.liveCursor) : { startTime: 0, seen: [] };
  const result = await tailCommandOutput(ctx.aws(region).logs, logGroup, commandId, cursor);
  const byInstance = new Map(runs.map((run) => [run.instanceId, run.id]));
  await appendOutput(
    ctx.db,
    result.lines.flatMap((line) => {
      const hostRunId = byInstance.get(line.instanceId);
      return hostRunId ? [{ hostRunId, stream: line.stream, text: line.text }] : [];
    }),
  );
  await updateDeploy(ctx.db, deploy.id, { liveCursor: JSON.stringify(result.cursor) });
  return result.lines.length;
}

/** Sends a deploy that was stopped for script review. */
export async function confirmDeploy(ctx: DeployContext, id: string): Promise<void> {
  const deploy = await getDeploy(ctx.db, id);
  if (!deploy) throw new DeployError(`No deploy ${id}.`);
  if (deploy.status !== "awaiting_confirmation") throw new DeployError(`Deploy ${id} is ${deploy.status}, not waiting for confirmation.`);
  const environment = environmentOf(ctx.config, deploy.environment);
  void runJob(id, () => guarded(ctx, id, () => sendAndWatch(ctx, id, environment.hosts, 1)));
}

/** Cancels a running deploy on every host still going; the watcher records the Cancelled ends. */
export async function cancelDeploy(ctx: DeployContext, id: string): Promise<void> {
  const deploy = await getDeploy(ctx.db, id);
  if (!deploy) throw new DeployError(`No deploy ${id}.`);
  if (deploy.status === "awaiting_confirmation") {
    await updateDeploy(ctx.db, id, { status: "cancelled", finishedAt: new Date() });
    await recordEvent(ctx.db, id, "state", "cancelled before sending");
    return;
  }
  if (deploy.status !== "running" || !deploy.commandId) throw new DeployError(`Deploy ${id} is ${deploy.status}: only a running deploy can be cancelled.`);
  const environment = environmentOf(ctx.config, deploy.environment);
  const open = (await currentHostRuns(ctx.db, id)).filter((run) => !isTerminalHostStatus(run.status));
  await recordEvent(ctx.db, id, "state", `cancel requested for ${open.map((r) => r.hostName).join(", ")}`);
  await cancelCommand(ctx.aws(environment.region).ssm, deploy.commandId, open.map((run) => run.instanceId));
  void runJob(id, () => guarded(ctx, id, () => watchDeploy(ctx, id)));
}

/** Picks up deploys a previous server process left in flight. */
export async function resumeUnfinishedDeploys(ctx: DeployContext, unfinished: { id: string; status: string; commandId: string | null }[]) {
  for (const deploy of unfinished) {
    if (deploy.status === "running" && deploy.commandId) {
      await recordEvent(ctx.db, deploy.id, "state", "Deckhand restarted: resuming the watch of the SSM command");
      void runJob(deploy.id, () => guarded(ctx, deploy.id, () => watchDeploy(ctx, deploy.id)));
    } else {
      const message = `Deckhand stopped while this deploy was ${deploy.status}; nothing was sent to the hosts${deploy.status === "sending" ? " (or SSM did not confirm it): check SSM command history" : ""}.`;
      await updateDeploy(ctx.db, deploy.id, { status: "failed", error: message, finishedAt: new Date() });
      await recordEvent(ctx.db, deploy.id, "error", message);
    }
  }
}
