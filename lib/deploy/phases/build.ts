import { spawn } from "node:child_process";
import { RefusedError } from "../../errors";
import { recordEvent } from "../../history/deploys";
import type { DeployContext } from "../context";
import type { Job, Phase } from "../job";
import type { BuildStep } from "../plan";

/** The laptop's environment for a build, minus AWS credentials: a build script has no business with them. */
export function buildEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const kept = Object.entries(env).filter(([name]) => !/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|SECURITY_TOKEN|PROFILE|CONTAINER_CREDENTIALS_FULL_URI|CONTAINER_AUTHORIZATION_TOKEN|WEB_IDENTITY_TOKEN_FILE)$/.test(name));
  return { ...(Object.fromEntries(kept) as NodeJS.ProcessEnv), CI: "true" };
}

/** Runs one local build command, streaming each output line into the deploy's events. */
async function runBuildStep(ctx: DeployContext, deployId: string, step: BuildStep): Promise<void> {
  await recordEvent(ctx.db, deployId, "build", `$ (cd ${step.cwd} && ${step.command})`);
  const child = spawn("bash", ["-c", step.command], { cwd: step.cwd, env: buildEnvironment(), stdio: ["ignore", "pipe", "pipe"] });
  const pending: Promise<unknown>[] = [];
  const forward = (stream: NodeJS.ReadableStream) => {
    let buffered = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) pending.push(recordEvent(ctx.db, deployId, "build", line));
    });
    stream.on("end", () => {
      if (buffered) pending.push(recordEvent(ctx.db, deployId, "build", buffered));
    });
  };
  forward(child.stdout);
  forward(child.stderr);
  const code = await new Promise<number>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (exitCode) => resolve(exitCode ?? 1));
  });
  await Promise.all(pending);
  if (code !== 0) throw new RefusedError(`build of ${step.service} failed: \`${step.command}\` exited with ${code} (output above)`);
}

export const buildPhase: Phase = {
  name: "build",
  status: "building",
  describe: (job) => `building ${job.plan?.builds.map((b) => b.service).join(", ")}`,
  async run(ctx: DeployContext, job: Job) {
    for (const step of job.plan?.builds ?? []) await runBuildStep(ctx, job.deployId, step);
  },
};
