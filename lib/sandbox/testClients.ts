// Real AWS SDK clients pointed at a sandbox, plus polling helpers for the sandbox tests.
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { S3Client } from "@aws-sdk/client-s3";
import { STSClient } from "@aws-sdk/client-sts";
import { GetCommandInvocationCommand, SendCommandCommand, SSMClient, type GetCommandInvocationCommandOutput } from "@aws-sdk/client-ssm";
import type { Sandbox } from "./index";
// Plain ESM shared with the host tools (typed by JSDoc).
import { signedFetch } from "./tools/sigv4.mjs";

// timeScale 0.002: an offline host's 30 s + 600 s delivery window lasts 1.26 s.
export const FAST_TIMING = { pendingMs: 100, invisibleMs: 250, logFlushMs: 200, healthIntervalMs: 150, slowMs: 400, ingestionDelayMs: 300, streamReadDelayMs: 100, timeScale: 0.002 };

export function sandboxClients(sandbox: Sandbox, ssmConfig: { maxAttempts?: number; retryMode?: string } = {}) {
  const base = { region: sandbox.region, credentials: sandbox.credentials };
  return {
    ssm: new SSMClient({ ...base, endpoint: sandbox.endpoints.ssm, ...ssmConfig }),
    s3: new S3Client({ ...base, endpoint: sandbox.endpoints.s3, forcePathStyle: true }),
    logs: new CloudWatchLogsClient({ ...base, endpoint: sandbox.endpoints.logs }),
    sts: new STSClient({ ...base, endpoint: sandbox.endpoints.sts }),
  };
}

/** A change through the sandbox's control API: signed with the sandbox's key, as it requires. */
export function controlFetch(sandbox: Sandbox, pathname: string, init: { method: string; body?: unknown }): Promise<Response> {
  const body = init.body === undefined ? undefined : JSON.stringify(init.body);
  return signedFetch(`${sandbox.endpoints.control}${pathname}`, { method: init.method, body, headers: { "content-type": "application/json" } }, { credentials: sandbox.credentials, region: sandbox.region, service: "sandbox" });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const TERMINAL = ["Success", "Failed", "TimedOut", "Cancelled"];

/** Poll GetCommandInvocation (retrying InvocationDoesNotExist, as Deckhand must) until `until` holds. */
export async function waitForInvocation(
  ssm: SSMClient,
  commandId: string,
  instanceId: string,
  until: (out: GetCommandInvocationCommandOutput) => boolean = (out) => TERMINAL.includes(out.Status ?? ""),
  timeoutMs = 30_000,
): Promise<GetCommandInvocationCommandOutput> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const out = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
      if (until(out)) return out;
    } catch (error) {
      if ((error as Error).name !== "InvocationDoesNotExist") throw error;
    }
    if (Date.now() > deadline) throw new Error(`invocation ${commandId}/${instanceId} did not reach the expected state in ${timeoutMs} ms`);
    await sleep(50);
  }
}

export async function runScript(
  sandbox: Sandbox,
  ssm: SSMClient,
  script: string,
  options: { instanceIds?: string[]; executionTimeout?: number; timeoutSeconds?: number; cloudWatchGroup?: string; outputPrefix?: string } = {},
): Promise<string> {
  const out = await ssm.send(
    new SendCommandCommand({
      DocumentName: "AWS-RunShellScript",
      InstanceIds: options.instanceIds ?? sandbox.hosts.map((h) => h.instanceId),
      Comment: "sandbox test",
      TimeoutSeconds: options.timeoutSeconds,
      Parameters: { commands: [script], executionTimeout: [String(options.executionTimeout ?? 600)] },
      CloudWatchOutputConfig: options.cloudWatchGroup ? { CloudWatchLogGroupName: options.cloudWatchGroup, CloudWatchOutputEnabled: true } : undefined,
      OutputS3BucketName: options.outputPrefix ? sandbox.bucket : undefined,
      OutputS3KeyPrefix: options.outputPrefix,
    }),
  );
  return out.Command!.CommandId!;
}
