// "Read from hosts": one read-only SSM command on every online host, parsed into HostReadings.
// Hosts SSM cannot reach are not sent to (their invocation would sit Pending for the delivery timeout).
import { CancelCommandCommand, SendCommandCommand, type SSMClient } from "@aws-sdk/client-ssm";
import { describeAwsError } from "../aws/errors";
import { awaitInvocations, describeHosts } from "../aws/ssm";
import { hostTruthScript } from "../remote/host-truth-script";
import { parseHostTruth, type HostReading } from "./host-truth";

export interface ReadHostsRequest {
  instanceIds: string[];
  repoPath: string;
  /** Every configured service's paths. */
  paths: string[];
  frontUrl?: string;
  /** Give up on a host after this long (default 60 s); the command is cancelled for it. */
  timeoutMs?: number;
  pollMs?: number;
}

export interface ReadHostsResult {
  commandId: string | null;
  script: string;
  readings: Record<string, HostReading>;
}

const unreadable = (problem: string): HostReading => ({ ok: false, problem, repoExists: false, manifestSha256: null, paths: [], front: { ok: false, indexJs: null } });

export async function readHosts(ssm: SSMClient, request: ReadHostsRequest): Promise<ReadHostsResult> {
  const script = hostTruthScript({ repoPath: request.repoPath, paths: request.paths, frontUrl: request.frontUrl });
  const readings: Record<string, HostReading> = {};
  const ping = await describeHosts(ssm, request.instanceIds);
  const online = ping.filter((p) => p.pingStatus === "Online").map((p) => p.instanceId);
  for (const p of ping) if (p.pingStatus !== "Online") readings[p.instanceId] = unreadable(`SSM reports the host ${p.pingStatus}`);
  if (online.length === 0) return { commandId: null, script, readings };

  const sent = await ssm.send(
    new SendCommandCommand({
      DocumentName: "AWS-RunShellScript",
      InstanceIds: online,
      Comment: "Deckhand: read what each host has (read-only)",
      Parameters: { commands: [script], executionTimeout: ["60"] },
      TimeoutSeconds: 30, // the shortest delivery timeout SSM accepts
    }),
  );
  const commandId = sent.Command?.CommandId;
  if (!commandId) throw new Error("SSM accepted the command but returned no CommandId");
  const pending = await awaitInvocations(ssm, commandId, online, { pollMs: request.pollMs ?? 500, timeoutMs: request.timeoutMs ?? 60_000 }, ({ instanceId, result, error }) => {
    if (!result) readings[instanceId] = unreadable(`its result could not be read: ${describeAwsError(error)}`);
    else if (result.Status === "Success") readings[instanceId] = parseHostTruth(result.StandardOutputContent ?? "", request.paths);
    else readings[instanceId] = unreadable(`the read ended ${result.Status} (${result.StatusDetails ?? "no details"})`);
  });
  if (pending.length) {
    await ssm.send(new CancelCommandCommand({ CommandId: commandId, InstanceIds: pending })).catch(() => {});
    for (const id of pending) readings[id] = unreadable("the host did not answer in time");
  }
  return { commandId, script, readings };
}
