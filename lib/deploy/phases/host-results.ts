import { GetObjectCommand } from "@aws-sdk/client-s3";
import { awsProblem } from "../../aws/errors";
import { getInvocation } from "../../aws/ssm";
import type { EnvironmentConfig } from "../../config/schema";
import { updateHostRun } from "../../history/deploys";
import { preflightFailure } from "../../remote/preflight";
import type { DeployContext } from "../context";

/** SSM's inline output caps: 24,000 / 8,000, cut by the agent in bytes with a marker. */
export const STDOUT_LIMIT = 24_000;
export const STDERR_LIMIT = 8_000;
export const TRUNCATION_MARKER = "--output truncated--";
/** The most of one stream Deckhand reads back from S3 and keeps (first part; the object stays in S3). */
export const FULL_OUTPUT_CAP_BYTES = 1024 * 1024;

/** Exit codes the host script uses for its own refusals before anything is extracted. */
const SCRIPT_REFUSALS: Record<number, string> = {
  3: "the bundle's sha256 did not match what Deckhand recorded: nothing was extracted (the object changed in S3, or the download was corrupted).",
  4: "the archive holds a member Deckhand will not extract as root (absolute or .. path, escaping symlink, hard link, device, setuid): nothing was extracted — see the host's stderr for the member.",
};

/** Truncated by the marker, or at the cap in characters or bytes (multibyte output is cut well before 24,000 characters). */
export function looksTruncated(text: string, limit: number): boolean {
  return text.includes(TRUNCATION_MARKER) || text.length >= limit || Buffer.byteLength(text, "utf8") >= limit - 100;
}

export function outputObjectKey(environment: EnvironmentConfig, commandId: string, instanceId: string, stream: "stdout" | "stderr"): string | null {
  const { s3Bucket, s3Prefix } = environment.output;
  if (!s3Bucket) return null;
  const prefix = (s3Prefix ?? "").replace(/\/$/, "");
  return `${prefix ? `${prefix}/` : ""}${commandId}/${instanceId}/awsrunShellScript/0.awsrunShellScript/${stream}`;
}

type FullOutput = { text: string; capped: boolean } | { missing: true } | { error: string };

/** A host's full output from the S3 output prefix, read bounded; SSM writes it only for non-empty streams. */
async function fullOutputFromS3(ctx: DeployContext, environment: EnvironmentConfig, key: string): Promise<FullOutput> {
  try {
    const object = await ctx.aws(environment.region).s3.send(new GetObjectCommand({ Bucket: environment.output.s3Bucket, Key: key, Range: `bytes=0-${FULL_OUTPUT_CAP_BYTES - 1}` }));
    const text = (await object.Body?.transformToString("utf8")) ?? "";
    const total = Number(/\/(\d+)$/.exec(object.ContentRange ?? "")?.[1] ?? Buffer.byteLength(text));
    return { text: text.slice(0, FULL_OUTPUT_CAP_BYTES), capped: total > FULL_OUTPUT_CAP_BYTES };
  } catch (error) {
    const problem = awsProblem(error);
    return problem === "not_found" ? { missing: true } : { error: problem };
  }
}

interface StreamResult {
  text: string;
  truncated: boolean;
  note: string | null;
}

async function resolveStream(ctx: DeployContext, environment: EnvironmentConfig, commandId: string, instanceId: string, stream: "stdout" | "stderr", inline: string): Promise<StreamResult> {
  const truncated = looksTruncated(inline, stream === "stdout" ? STDOUT_LIMIT : STDERR_LIMIT);
  const key = outputObjectKey(environment, commandId, instanceId, stream);
  if (!key) return { text: inline, truncated, note: truncated ? `SSM truncated ${stream}; configure output.s3Bucket to keep the full output.` : null };
  if (!inline) return { text: inline, truncated: false, note: null }; // an empty stream has no S3 object
  const full = await fullOutputFromS3(ctx, environment, key);
  if ("text" in full) return { text: full.text, truncated: full.capped, note: full.capped ? `${stream} is longer than ${FULL_OUTPUT_CAP_BYTES} bytes: the first part is kept here, the rest is in s3://${environment.output.s3Bucket}/${key}` : null };
  const why =
    "missing" in full
      ? `the instance role may lack s3:PutObject on s3://${environment.output.s3Bucket}/${key}`
      : full.error === "access_denied"
        ? `this laptop may lack s3:GetObject (or s3:ListBucket) on s3://${environment.output.s3Bucket}`
        : `reading it failed (${full.error})`;
  return { text: inline, truncated, note: `The full ${stream} is not in S3: ${why}.` };
}

/** Final status and output of one host: GetCommandInvocation, then the S3 copy when configured. */
export async function finishHostRun(ctx: DeployContext, environment: EnvironmentConfig, run: { id: string; commandId: string | null; instanceId: string }): Promise<string[]> {
  const commandId = run.commandId ?? "";
  const invocation = await getInvocation(ctx.aws(environment.region).ssm, commandId, run.instanceId);
  const [stdout, stderr] = await Promise.all([
    resolveStream(ctx, environment, commandId, run.instanceId, "stdout", invocation.StandardOutputContent ?? ""),
    resolveStream(ctx, environment, commandId, run.instanceId, "stderr", invocation.StandardErrorContent ?? ""),
  ]);
  const ended = invocation.ExecutionEndDateTime ? new Date(invocation.ExecutionEndDateTime) : null;
  await updateHostRun(ctx.db, run.id, {
    status: invocation.Status ?? "Failed",
    statusDetails: invocation.StatusDetails ?? null,
    responseCode: invocation.ResponseCode ?? null,
    stdout: stdout.text,
    stderr: stderr.text,
    stdoutTruncated: stdout.truncated,
    stderrTruncated: stderr.truncated,
    // SSM's own end time: when Deckhand read it may be much later (throttling, a restart).
    finishedAt: ended && !Number.isNaN(ended.getTime()) ? ended : new Date(),
  });
  // A pre-flight failure has its own exit code and one "PREFLIGHT:" line: the cause in plain words.
  const preflight = invocation.Status === "Failed" ? preflightFailure(invocation.ResponseCode ?? -1, stderr.text) : undefined;
  const refusal = invocation.Status === "Failed" ? SCRIPT_REFUSALS[invocation.ResponseCode ?? -1] : undefined;
  return [preflight ? `${preflight.cause} (${preflight.detail}). ${preflight.fix} Nothing was changed on the host.` : (refusal ?? null), restoreNote(invocation.Status ?? "Failed", stdout.text), stdout.note, stderr.note].filter(
    (note): note is string => note !== null,
  );
}

/**
 * For a host that did not succeed: the last step its script reached and whether it put the replaced
 * files back (the restore block's "==> restored" line). Host output is only quoted, bounded.
 */
export function restoreNote(status: string, stdout: string): string | null {
  if (status === "Success") return null;
  const lines = stdout.slice(-64_000).split("\n");
  const restored = lines.findLast((line) => line.startsWith("==> restored "));
  if (restored) return restored.slice(4, 400);
  const last = lines.findLast((line) => line.startsWith("==> ") && !line.startsWith("==> note:"));
  return last ? `last step reached: ${last.slice(4, 300)} (nothing was put back)` : null;
}
