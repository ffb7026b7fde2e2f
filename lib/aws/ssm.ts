import {
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  SendCommandCommand,
  type CommandInvocation,
  type GetCommandInvocationCommandOutput,
  type SSMClient,
} from "@aws-sdk/client-ssm";
import { awsProblem } from "./errors";

export interface SendScriptRequest {
  instanceIds: string[];
  script: string;
  executionTimeoutSeconds: number;
  /** Delivery timeout: a host offline this long after sending is given up on (then TimedOut / DeliveryTimedOut). */
  deliveryTimeoutSeconds: number;
  comment: string;
  cloudWatchLogGroup?: string;
  s3Bucket?: string;
  s3Prefix?: string;
}

/** One AWS-RunShellScript command for all hosts: the script is one element of `commands`, as in the runbooks. */
export async function sendScript(ssm: SSMClient, request: SendScriptRequest): Promise<string> {
  const result = await ssm.send(
    new SendCommandCommand({
      DocumentName: "AWS-RunShellScript",
      InstanceIds: request.instanceIds,
      Comment: request.comment.slice(0, 100), // SSM caps comments at 100 characters
      Parameters: { commands: [request.script], executionTimeout: [String(request.executionTimeoutSeconds)] },
      // Short: an offline host sits Pending for this plus executionTimeout before SSM gives up on it.
      TimeoutSeconds: request.deliveryTimeoutSeconds,
      ...(request.cloudWatchLogGroup
        ? { CloudWatchOutputConfig: { CloudWatchOutputEnabled: true, CloudWatchLogGroupName: request.cloudWatchLogGroup } }
        : {}),
      ...(request.s3Bucket ? { OutputS3BucketName: request.s3Bucket, OutputS3KeyPrefix: request.s3Prefix?.replace(/\/$/, "") } : {}),
    }),
  );
  const commandId = result.Command?.CommandId;
  if (!commandId) throw new Error("SSM accepted the command but returned no CommandId");
  return commandId;
}

/** Every host's invocation of a command in one call (paged only past 50 hosts). */
export async function listInvocations(ssm: SSMClient, commandId: string): Promise<CommandInvocation[]> {
  const invocations: CommandInvocation[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId, Details: false, MaxResults: 50, NextToken: nextToken }));
    invocations.push(...(page.CommandInvocations ?? []));
    nextToken = page.NextToken;
  } while (nextToken);
  return invocations;
}

export type EndedInvocation = { instanceId: string } & ({ result: GetCommandInvocationCommandOutput; error?: undefined } | { result?: undefined; error: unknown });

/**
 * Waits for a short read-only command on some hosts: one ListCommandInvocations per cycle for all of
 * them, and each host's full result read once, when SSM lists it as ended (a result not readable yet is
 * asked for again next cycle; another error is handed over as that host's end). Returns the hosts
 * still going at the deadline.
 */
export async function awaitInvocations(
  ssm: SSMClient,
  commandId: string,
  instanceIds: string[],
  options: { pollMs: number; timeoutMs: number },
  onEnded: (ended: EndedInvocation) => void,
): Promise<string[]> {
  const waiting = new Set(instanceIds);
  const deadline = Date.now() + options.timeoutMs;
  while (waiting.size > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, options.pollMs));
    const ended = (await listInvocations(ssm, commandId)).filter((inv) => inv.InstanceId && waiting.has(inv.InstanceId) && INVOCATION_ENDED.has(inv.Status ?? ""));
    for (const { InstanceId: instanceId } of ended) {
      try {
        const result = await getInvocation(ssm, commandId, instanceId!);
        waiting.delete(instanceId!);
        onEnded({ instanceId: instanceId!, result });
      } catch (error) {
        if (awsProblem(error) === "invocation_missing") continue; // listed before its result is readable
        waiting.delete(instanceId!);
        onEnded({ instanceId: instanceId!, error });
      }
    }
  }
  return [...waiting];
}

/** CommandInvocationStatus values after which nothing changes. */
const INVOCATION_ENDED = new Set(["Success", "Failed", "TimedOut", "Cancelled"]);

export async function getInvocation(ssm: SSMClient, commandId: string, instanceId: string) {
  return ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
}

export async function cancelCommand(ssm: SSMClient, commandId: string, instanceIds?: string[]): Promise<void> {
  await ssm.send(new CancelCommandCommand({ CommandId: commandId, InstanceIds: instanceIds }));
}

export interface HostPing {
  instanceId: string;
  /** Online, ConnectionLost, Inactive; "Unknown" when SSM does not know the instance. */
  pingStatus: string;
  agentVersion: string | null;
  lastPingAt: Date | null;
  platform: string | null;
}

/** SSM's view of each host (DescribeInstanceInformation, every page: AWS answers 10 per page by default). */
export async function describeHosts(ssm: SSMClient, instanceIds: string[]): Promise<HostPing[]> {
  const found = new Map<string, HostPing>();
  for (let i = 0; i < instanceIds.length; i += 50) {
    const chunk = instanceIds.slice(i, i + 50);
    let nextToken: string | undefined;
    do {
      const page = await ssm.send(
        new DescribeInstanceInformationCommand({ Filters: [{ Key: "InstanceIds", Values: chunk }], MaxResults: 50, NextToken: nextToken }),
      );
      for (const info of page.InstanceInformationList ?? []) {
        if (!info.InstanceId) continue;
        found.set(info.InstanceId, {
          instanceId: info.InstanceId,
          pingStatus: info.PingStatus ?? "Unknown",
          agentVersion: info.AgentVersion ?? null,
          lastPingAt: info.LastPingDateTime ?? null,
          platform: [info.PlatformName, info.PlatformVersion].filter(Boolean).join(" ") || null,
        });
      }
      nextToken = page.NextToken;
    } while (nextToken);
  }
  return instanceIds.map((id) => found.get(id) ?? { instanceId: id, pingStatus: "Unknown", agentVersion: null, lastPingAt: null, platform: null });
}

/** The hosts SSM knows, by instance id (an id absent from the map is not registered with SSM). */
export async function describePing(ssm: SSMClient, instanceIds: string[]): Promise<Map<string, HostPing>> {
  const hosts = await describeHosts(ssm, instanceIds);
  return new Map(hosts.filter((h) => h.agentVersion !== null || h.pingStatus !== "Unknown").map((h) => [h.instanceId, h]));
}
