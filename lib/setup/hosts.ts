// The host side of the setup check: is each host's SSM agent connected, and does the pre-flight pass
// there? One SSM command runs the pre-flight on every online host; offline hosts are not sent to (a
// command would wait Pending for TimeoutSeconds + executionTimeout).
import { awaitInvocations, describePing } from "../aws/ssm";
import { CancelCommandCommand, DescribeInstanceInformationCommand, SendCommandCommand, type SSMClient } from "@aws-sdk/client-ssm";
import { describeAwsError } from "../aws/errors";
import type { EnvironmentConfig } from "../config/schema";
import { preflightFailure, preflightScript, systemdPreflightScript } from "../remote/preflight";
import { fail, isDenied, pass, type CheckLine } from "./types";

export interface HostCheckOptions {
  /** How long to wait for every host's answer. */
  timeoutMs?: number;
  pollMs?: number;
}

const firstLine = (text: string | undefined) => (text ?? "").slice(0, 2000).split("\n").find((l) => l.trim())?.slice(0, 300) ?? "";

export async function checkHosts(ssm: SSMClient, environment: EnvironmentConfig, options: HostCheckOptions = {}): Promise<CheckLine[]> {
  const timeoutMs = options.timeoutMs ?? 90_000;
  const pollMs = options.pollMs ?? 1000;
  const lineName = (host: { name: string; instanceId: string }) => `Host ${host.name} (${host.instanceId})`;

  let pings: Awaited<ReturnType<typeof describePing>>;
  try {
    pings = await describePing(ssm, environment.hosts.map((h) => h.instanceId));
  } catch (error) {
    const fix = isDenied(error) ? "Allow ssm:DescribeInstanceInformation for the laptop (README › Hosts and IAM)." : "Fix the error above, then run the check again.";
    return environment.hosts.map((h) => fail(lineName(h), `could not ask SSM about the host: ${describeAwsError(error)}`, fix));
  }

  const lines = new Map<string, CheckLine>();
  const online = environment.hosts.filter((host) => {
    const info = pings.get(host.instanceId);
    if (!info) {
      lines.set(host.instanceId, fail(lineName(host), `${host.name}: SSM does not know this instance in ${environment.region}`, "Check the instance id and region in deckhand.config.json; the instance needs the SSM agent running and an instance role with AmazonSSMManagedInstanceCore."));
      return false;
    }
    if (info.pingStatus !== "Online") {
      const since = info.lastPingAt ? `, last seen ${info.lastPingAt.toISOString()}` : "";
      lines.set(
        host.instanceId,
        fail(
          lineName(host),
          `${host.name}: the SSM agent is not connected (${info.pingStatus}${since})`,
          "Start the instance, or restart its agent (sudo snap restart amazon-ssm-agent.amazon-ssm-agent) and check it can reach the ssm, ssmmessages and ec2messages endpoints over HTTPS. A deploy sent now would wait Pending until it times out.",
        ),
      );
      return false;
    }
    return true;
  });

  if (online.length > 0) {
    // Each host profile checks what its own deploy script needs.
    const script =
      environment.profile === "systemd" && environment.systemd
        ? systemdPreflightScript({ serviceDir: environment.systemd.serviceDir, unitDir: environment.systemd.unitDir, bundleBytes: 0, download: environment.download })
        : preflightScript({ repoPath: environment.repoPath, composeDir: environment.composeDir, bundleBytes: 0, download: environment.download });
    let commandId: string | undefined;
    try {
      const sent = await ssm.send(
        new SendCommandCommand({
          DocumentName: "AWS-RunShellScript",
          InstanceIds: online.map((h) => h.instanceId),
          Comment: "Deckhand setup check: host pre-flight",
          Parameters: { commands: [script], executionTimeout: ["60"] },
          TimeoutSeconds: 30,
        }),
      );
      commandId = sent.Command?.CommandId;
    } catch (error) {
      const fix = isDenied(error) ? "Allow ssm:SendCommand on the AWS-RunShellScript document and these instances for the laptop (README › Hosts and IAM)." : "Fix the error above, then run the check again.";
      for (const host of online) lines.set(host.instanceId, fail(lineName(host), `could not send the pre-flight: ${describeAwsError(error)}`, fix));
    }

    if (commandId) {
      const byId = new Map(online.map((h) => [h.instanceId, h]));
      const ended = awaitInvocations(ssm, commandId, [...byId.keys()], { pollMs, timeoutMs }, ({ instanceId, result: out, error }) => {
        const host = byId.get(instanceId)!;
        if (!out) {
          lines.set(host.instanceId, fail(lineName(host), `could not read the pre-flight result: ${describeAwsError(error)}`, isDenied(error) ? "Allow ssm:GetCommandInvocation for the laptop." : "Run the check again."));
          return;
        }
        const failure = out.ResponseCode !== undefined ? preflightFailure(out.ResponseCode, out.StandardErrorContent ?? "") : undefined;
        if (out.Status === "Success" && (out.StandardOutputContent ?? "").includes("PREFLIGHT: ok")) {
          lines.set(host.instanceId, pass(lineName(host), `${host.name}: pre-flight passed (download with ${environment.download === "aws-cli" ? "the AWS CLI" : "curl and a pre-signed URL"}, repo ${environment.repoPath}, compose dir ${environment.composeDir})`));
        } else if (failure) {
          lines.set(host.instanceId, fail(lineName(host), `${host.name}: ${failure.cause} (host said: ${failure.detail})`, failure.fix));
        } else {
          const said = firstLine(out.StandardErrorContent) || firstLine(out.StandardOutputContent) || "no output";
          lines.set(host.instanceId, fail(lineName(host), `${host.name}: the pre-flight ended ${out.Status}/${out.StatusDetails} with exit ${out.ResponseCode} (host said: ${said})`, "Run the pre-flight by hand on the host (README › Hosts) to see what fails."));
        }
      });
      const waiting = await ended.catch((error: unknown) => {
        // The status list itself failed: every host not answered yet gets the reason.
        const unanswered = online.filter((h) => !lines.has(h.instanceId));
        for (const host of unanswered) lines.set(host.instanceId, fail(lineName(host), `could not follow the pre-flight: ${describeAwsError(error)}`, isDenied(error) ? "Allow ssm:ListCommandInvocations for the laptop." : "Run the check again."));
        return [] as string[];
      });
      if (waiting.length > 0) {
        await ssm.send(new CancelCommandCommand({ CommandId: commandId, InstanceIds: waiting })).catch(() => undefined);
        for (const host of online.filter((h) => waiting.includes(h.instanceId))) {
          lines.set(host.instanceId, fail(lineName(host), `${host.name}: no answer to the pre-flight within ${Math.round(timeoutMs / 1000)} s (cancelled)`, "The agent may be busy or losing its connection; check the instance and run the check again."));
        }
      }
    }
  }
  return environment.hosts.map((h) => lines.get(h.instanceId)!);
}
