// SSM Run Command stand-in: command and invocation state machine following the AWS API reference.
import { randomUUID } from "node:crypto";
import path from "node:path";
import { AwsError, type Operation, paginate } from "./awsJson";
import type { Execution, SimulatedHost } from "./hosts";
import type { LogStore } from "./logs";

export const STDOUT_LIMIT = 24_000;
export const STDERR_LIMIT = 8_000;
export const PLUGIN_OUTPUT_LIMIT = 2_500;
/** agent/framework/processor/executer/iohandler: DefaultOutputConfig().OutputTruncatedSuffix */
export const TRUNCATED_SUFFIX = "--output truncated--";
/** DescribeInstanceInformation: 10 per page unless MaxResults (5..50) says otherwise. */
export const INSTANCE_INFO_PAGE = 10;
const PLUGIN_NAME = "aws:runShellScript";
const DOCUMENT_NAME = "AWS-RunShellScript";
const DEFAULT_LOG_GROUP = "/aws/ssm/AWS-RunShellScript";
const ERROR_SEPARATOR = "\n----------ERROR-------\n";

type InvocationStatus = "Pending" | "InProgress" | "Success" | "Cancelled" | "TimedOut" | "Failed" | "Cancelling";

interface Invocation {
  instanceId: string;
  status: InvocationStatus;
  statusDetails: string;
  responseCode: number;
  startedAt?: Date;
  endedAt?: Date;
  stdout: string;
  stderr: string;
  /** Output already shipped to CloudWatch Logs, per stream. */
  flushed: { stdout: number; stderr: number };
  /** When the agent first got the command (a late delivery after an offline spell is later than requestedAt). */
  deliveryDeadline: number;
  execution?: Execution;
  startTimer?: NodeJS.Timeout;
  flushTimer?: NodeJS.Timeout;
}

interface Command {
  commandId: string;
  comment: string;
  documentName: string;
  parameters: Record<string, string[]>;
  instanceIds: string[];
  requestedAt: Date;
  visibleAt: number;
  timeoutSeconds: number;
  executionTimeoutSeconds: number;
  outputBucket: string;
  outputPrefix: string;
  logGroup?: string;
  invocations: Map<string, Invocation>;
}

export interface SsmTiming {
  pendingMs: number;
  invisibleMs: number;
  logFlushMs: number;
  /** Multiplies AWS's own long waits (the offline delivery window) so tests stay fast; 1 = as AWS. */
  timeScale: number;
}

export interface SsmServiceOptions {
  region: string;
  s3Endpoint: string;
  hosts: SimulatedHost[];
  /** Other managed instances of the account (terminated ones linger as Inactive): they fill the first pages. */
  otherInstances?: { instanceId: string; name: string }[];
  logs: LogStore;
  timing: SsmTiming;
  workRoot: string;
  writeOutput(bucket: string, key: string, body: string): Promise<void>;
}

const TERMINAL: InvocationStatus[] = ["Success", "Cancelled", "TimedOut", "Failed"];
const epochSeconds = (date: Date | undefined) => (date ? date.getTime() / 1000 : undefined);
const isTerminal = (invocation: Invocation) => TERMINAL.includes(invocation.status);

/** The Status values the API reference lists for ListCommands' filter. */
const LIST_COMMANDS_STATUSES = ["Pending", "InProgress", "Success", "Cancelled", "Failed", "TimedOut", "AccessDenied", "DeliveryTimedOut", "ExecutionTimedOut", "Incomplete", "NoInstancesInTag", "LimitExceeded"];

export class SsmService {
  private commands = new Map<string, Command>();
  private stopped = false;

  constructor(private options: SsmServiceOptions) {}

  private host(instanceId: string): SimulatedHost | undefined {
    return this.options.hosts.find((h) => h.instanceId === instanceId);
  }

  operations(): Record<string, Operation> {
    return {
      SendCommand: (input) => this.sendCommand(input),
      GetCommandInvocation: (input) => this.getCommandInvocation(input),
      ListCommandInvocations: (input) => this.listCommandInvocations(input),
      ListCommands: (input) => this.listCommands(input),
      CancelCommand: (input) => this.cancelCommand(input),
      DescribeInstanceInformation: (input) => this.describeInstanceInformation(input),
    };
  }

  private sendCommand(input: Record<string, unknown>) {
    if (input.DocumentName !== DOCUMENT_NAME) {
      throw new AwsError("InvalidDocument", `Document with name ${String(input.DocumentName)} does not exist (the sandbox runs only ${DOCUMENT_NAME}).`);
    }
    const instanceIds = Array.isArray(input.InstanceIds) ? (input.InstanceIds as string[]) : [];
    if (instanceIds.length === 0) throw new AwsError("ValidationException", "InstanceIds or Targets must be specified (the sandbox supports InstanceIds).");
    if (instanceIds.length > 50) throw new AwsError("ValidationException", "Member must have length less than or equal to 50");
    for (const id of instanceIds) {
      if (!this.host(id)) throw new AwsError("InvalidInstanceId", `Instances [[${id}]] not in a valid state for account 000000000000`);
    }
    const parameters = (input.Parameters ?? {}) as Record<string, string[]>;
    if (!Array.isArray(parameters.commands) || parameters.commands.length === 0) {
      throw new AwsError("InvalidParameters", "Parameter \"commands\" is required.");
    }
    const executionTimeout = Number(parameters.executionTimeout?.[0] ?? 3600);
    if (!Number.isInteger(executionTimeout) || executionTimeout < 1 || executionTimeout > 172800) {
      throw new AwsError("InvalidParameters", "Parameter \"executionTimeout\" must be an integer between 1 and 172800.");
    }
    const timeoutSeconds = input.TimeoutSeconds === undefined ? 3600 : input.TimeoutSeconds;
    if (typeof timeoutSeconds !== "number" || !Number.isInteger(timeoutSeconds) || timeoutSeconds < 30 || timeoutSeconds > 2_592_000) {
      throw new AwsError("ValidationException", "1 validation error detected: Value at 'timeoutSeconds' failed to satisfy constraint: Member must have value between 30 and 2592000");
    }
    const cloudWatch = input.CloudWatchOutputConfig as { CloudWatchLogGroupName?: string; CloudWatchOutputEnabled?: boolean } | undefined;
    const now = new Date();
    const command: Command = {
      commandId: randomUUID(),
      comment: typeof input.Comment === "string" ? input.Comment : "",
      documentName: DOCUMENT_NAME,
      parameters,
      instanceIds: [...new Set(instanceIds)],
      requestedAt: now,
      visibleAt: now.getTime() + this.options.timing.invisibleMs,
      timeoutSeconds,
      executionTimeoutSeconds: executionTimeout,
      outputBucket: typeof input.OutputS3BucketName === "string" ? input.OutputS3BucketName : "",
      outputPrefix: typeof input.OutputS3KeyPrefix === "string" ? input.OutputS3KeyPrefix : "",
      logGroup: cloudWatch?.CloudWatchOutputEnabled ? cloudWatch.CloudWatchLogGroupName || DEFAULT_LOG_GROUP : undefined,
      invocations: new Map(),
    };
    for (const instanceId of command.instanceIds) {
      const invocation: Invocation = {
        instanceId,
        status: "Pending",
        statusDetails: "Pending",
        responseCode: -1,
        stdout: "",
        stderr: "",
        flushed: { stdout: 0, stderr: 0 },
        // An undelivered invocation gives up after TimeoutSeconds + executionTimeout (DeliveryTimedOut).
        deliveryDeadline: now.getTime() + (timeoutSeconds + executionTimeout) * 1000 * this.options.timing.timeScale,
      };
      invocation.startTimer = setTimeout(() => this.deliver(command, invocation), this.options.timing.pendingMs);
      command.invocations.set(instanceId, invocation);
    }
    this.commands.set(command.commandId, command);
    return { Command: this.describeCommand(command) };
  }

  private deliver(command: Command, invocation: Invocation): void {
    if (this.stopped || invocation.status !== "Pending") return;
    const host = this.host(invocation.instanceId)!;
    if (host.faults.has("offline")) {
      // SSM keeps retrying an unreachable agent: Pending / Delayed, then DeliveryTimedOut. A host back in time runs it late.
      if (Date.now() >= invocation.deliveryDeadline) {
        Object.assign(invocation, { status: "TimedOut", statusDetails: "DeliveryTimedOut", endedAt: new Date() });
        return;
      }
      invocation.statusDetails = "Delayed";
      const wait = Math.max(1, Math.min(this.options.timing.pendingMs, invocation.deliveryDeadline - Date.now()));
      invocation.startTimer = setTimeout(() => this.deliver(command, invocation), wait);
      return;
    }
    invocation.status = "InProgress";
    invocation.statusDetails = "InProgress";
    invocation.startedAt = new Date();
    // The agent joins the lines with newlines and ends the file with one (pluginutil.CreateScriptFile).
    const script = command.parameters.commands!.join("\n") + "\n";
    invocation.execution = host.execute(script, {
      workDir: path.join(this.options.workRoot, invocation.instanceId, "document", "orchestration", command.commandId, "awsrunShellScript", "0.awsrunShellScript"),
      timeoutMs: command.executionTimeoutSeconds * 1000,
      onStdout: (chunk) => (invocation.stdout += chunk),
      onStderr: (chunk) => (invocation.stderr += chunk),
    });
    if (command.logGroup) {
      invocation.flushTimer = setInterval(() => this.flushLogs(command, invocation, false), this.options.timing.logFlushMs);
    }
    void invocation.execution.done.then(async ({ exitCode, reason }) => {
      clearInterval(invocation.flushTimer);
      // A disconnected agent finishes the script but reports nothing until it is back.
      while (host.faults.has("offline") && !this.stopped) await new Promise((r) => setTimeout(r, this.options.timing.pendingMs));
      await this.uploadOutput(command, invocation);
      invocation.responseCode = exitCode;
      invocation.endedAt = new Date();
      if (reason === "cancelled") [invocation.status, invocation.statusDetails] = ["Cancelled", "Cancelled"];
      else if (reason === "timeout") [invocation.status, invocation.statusDetails] = ["TimedOut", "Execution Timed Out"];
      else if (exitCode === 0) [invocation.status, invocation.statusDetails] = ["Success", "Success"];
      else [invocation.status, invocation.statusDetails] = ["Failed", "Failed"];
      // The agent's CloudWatch uploader runs on its own: the last batch lands after the status is final.
      setTimeout(() => this.flushLogs(command, invocation, true), Math.min(250, this.options.timing.logFlushMs));
    });
  }

  /**
   * The agent's periodic CloudWatch upload: every complete new line (all remaining text at the end) in
   * one event, stamped with the host's own clock. Nothing while the host is offline; nothing ever
   * without an instance role allowed to write Logs (the agent silently turns CloudWatch output off).
   */
  private flushLogs(command: Command, invocation: Invocation, final: boolean): void {
    if (!command.logGroup || this.stopped) return;
    const host = this.host(invocation.instanceId)!;
    if (host.faults.has("no-logs-role")) return;
    if (host.faults.has("offline")) {
      if (final) setTimeout(() => this.flushLogs(command, invocation, true), this.options.timing.logFlushMs);
      return;
    }
    for (const stream of ["stdout", "stderr"] as const) {
      const text = invocation[stream];
      const from = invocation.flushed[stream];
      const to = final ? text.length : text.lastIndexOf("\n") + 1;
      if (to <= from) continue;
      const lines = text.slice(from, to).replace(/\n$/, "").split("\n");
      this.options.logs.append(command.logGroup, `${command.commandId}/${invocation.instanceId}/aws-runShellScript/${stream}`, lines, host.now());
      invocation.flushed[stream] = to;
    }
  }

  private outputKey(command: Command, instanceId: string, stream: "stdout" | "stderr"): string {
    const prefix = command.outputPrefix.replace(/\/+$/, "");
    return [prefix, command.commandId, instanceId, "awsrunShellScript", "0.awsrunShellScript", stream].filter(Boolean).join("/");
  }

  private outputUrl(command: Command, instanceId: string, stream: "stdout" | "stderr"): string {
    if (!command.outputBucket) return "";
    return `${this.options.s3Endpoint}/${command.outputBucket}/${this.outputKey(command, instanceId, stream)}`;
  }

  /** S3 output: an object per non-empty stream; a denied write is only logged on the host (never reported). */
  private async uploadOutput(command: Command, invocation: Invocation): Promise<void> {
    if (!command.outputBucket || this.stopped) return;
    if (this.host(invocation.instanceId)?.faults.has("s3-output-denied")) return;
    for (const stream of ["stdout", "stderr"] as const) {
      if (invocation[stream].length === 0) continue;
      try {
        await this.options.writeOutput(command.outputBucket, this.outputKey(command, invocation.instanceId, stream), invocation[stream]);
      } catch {
        // The agent logs the failure in its own log file; the invocation result does not change.
      }
    }
  }

  private findCommand(commandId: unknown): Command {
    const command = typeof commandId === "string" ? this.commands.get(commandId) : undefined;
    if (!command) throw new AwsError("InvalidCommandId", `Command ${String(commandId)} does not exist.`);
    return command;
  }

  private visibleCommands(): Command[] {
    const now = Date.now();
    return [...this.commands.values()].filter((c) => c.visibleAt <= now);
  }

  private getCommandInvocation(input: Record<string, unknown>) {
    const command = typeof input.CommandId === "string" ? this.commands.get(input.CommandId) : undefined;
    const invocation = command && typeof input.InstanceId === "string" ? command.invocations.get(input.InstanceId) : undefined;
    // Eventual consistency: a fresh command is not yet readable.
    if (!command || !invocation || command.visibleAt > Date.now()) {
      throw new AwsError("InvocationDoesNotExist", "An error occurred (InvocationDoesNotExist) when calling the GetCommandInvocation operation");
    }
    if (input.PluginName !== undefined && input.PluginName !== PLUGIN_NAME && input.PluginName !== "runShellScript") {
      throw new AwsError("InvalidPluginName", `Plugin ${String(input.PluginName)} is not in the document.`);
    }
    const ended = isTerminal(invocation);
    return {
      CommandId: command.commandId,
      InstanceId: invocation.instanceId,
      Comment: command.comment,
      DocumentName: command.documentName,
      DocumentVersion: "$DEFAULT",
      PluginName: PLUGIN_NAME,
      ResponseCode: invocation.responseCode,
      ExecutionStartDateTime: invocation.startedAt?.toISOString() ?? "",
      ExecutionElapsedTime: invocation.startedAt ? `PT${(((invocation.endedAt ?? new Date()).getTime() - invocation.startedAt.getTime()) / 1000).toFixed(3)}S` : "",
      ExecutionEndDateTime: invocation.endedAt && invocation.startedAt ? invocation.endedAt.toISOString() : "",
      Status: invocation.status,
      StatusDetails: invocation.statusDetails,
      StandardOutputContent: ended ? truncateOutput(invocation.stdout, STDOUT_LIMIT) : "",
      StandardOutputUrl: this.outputUrl(command, invocation.instanceId, "stdout"),
      StandardErrorContent: ended ? truncateOutput(invocation.stderr, STDERR_LIMIT) : "",
      StandardErrorUrl: this.outputUrl(command, invocation.instanceId, "stderr"),
      CloudWatchOutputConfig: this.cloudWatchConfig(command),
    };
  }

  private cloudWatchConfig(command: Command) {
    return { CloudWatchLogGroupName: command.logGroup ?? "", CloudWatchOutputEnabled: Boolean(command.logGroup) };
  }

  private pluginOutput(invocation: Invocation): string {
    if (!isTerminal(invocation)) return "";
    const combined = invocation.stderr ? invocation.stdout + ERROR_SEPARATOR + invocation.stderr : invocation.stdout;
    return combined.slice(0, PLUGIN_OUTPUT_LIMIT);
  }

  private listCommandInvocations(input: Record<string, unknown>) {
    let commands: Command[];
    if (input.CommandId !== undefined) {
      const command = this.findCommand(input.CommandId);
      commands = command.visibleAt <= Date.now() ? [command] : [];
    } else {
      commands = this.visibleCommands().reverse();
    }
    const rows = commands.flatMap((command) =>
      [...command.invocations.values()]
        .filter((invocation) => input.InstanceId === undefined || invocation.instanceId === input.InstanceId)
        .map((invocation) => ({ command, invocation })),
    );
    const { page, nextToken } = paginate(rows, input.MaxResults, input.NextToken, 50);
    return {
      CommandInvocations: page.map(({ command, invocation }) => ({
        CommandId: command.commandId,
        InstanceId: invocation.instanceId,
        InstanceName: this.host(invocation.instanceId)?.name ?? "",
        Comment: command.comment,
        DocumentName: command.documentName,
        DocumentVersion: "$DEFAULT",
        RequestedDateTime: epochSeconds(command.requestedAt),
        Status: invocation.status,
        StatusDetails: invocation.statusDetails,
        TraceOutput: "",
        StandardOutputUrl: this.outputUrl(command, invocation.instanceId, "stdout"),
        StandardErrorUrl: this.outputUrl(command, invocation.instanceId, "stderr"),
        CommandPlugins:
          input.Details === true
            ? [
                {
                  Name: PLUGIN_NAME,
                  Status: invocation.status,
                  StatusDetails: invocation.statusDetails,
                  ResponseCode: invocation.responseCode,
                  ResponseStartDateTime: epochSeconds(invocation.startedAt),
                  ResponseFinishDateTime: epochSeconds(isTerminal(invocation) ? invocation.endedAt : undefined),
                  Output: this.pluginOutput(invocation),
                  StandardOutputUrl: this.outputUrl(command, invocation.instanceId, "stdout"),
                  StandardErrorUrl: this.outputUrl(command, invocation.instanceId, "stderr"),
                  OutputS3Region: this.options.region,
                  OutputS3BucketName: command.outputBucket,
                  OutputS3KeyPrefix: command.outputPrefix,
                },
              ]
            : [],
        ServiceRole: "",
        NotificationConfig: { NotificationArn: "", NotificationEvents: [], NotificationType: "" },
        CloudWatchOutputConfig: this.cloudWatchConfig(command),
      })),
      NextToken: nextToken,
    };
  }

  /** Command-level status per the API reference (MaxErrors 0: the first error decides). */
  private commandStatus(command: Command): { Status: string; StatusDetails: string } {
    const invocations = [...command.invocations.values()];
    const cancelling = invocations.some((i) => i.status === "Cancelling");
    if (invocations.every((i) => i.status === "Pending")) return { Status: "Pending", StatusDetails: "Pending" };
    if (!invocations.every(isTerminal)) {
      return cancelling ? { Status: "Cancelling", StatusDetails: "Cancelling" } : { Status: "InProgress", StatusDetails: "InProgress" };
    }
    const delivered = invocations.filter((i) => i.statusDetails !== "Undeliverable" && i.statusDetails !== "DeliveryTimedOut");
    if (delivered.length === 0) return { Status: "TimedOut", StatusDetails: "Delivery Timed Out" };
    if (delivered.some((i) => i.status === "Cancelled")) return { Status: "Cancelled", StatusDetails: "Cancelled" };
    if (delivered.some((i) => i.status === "Failed")) return { Status: "Failed", StatusDetails: "Failed" };
    if (delivered.some((i) => i.status === "TimedOut")) return { Status: "TimedOut", StatusDetails: "Execution Timed Out" };
    if (delivered.length < invocations.length) return { Status: "TimedOut", StatusDetails: "Delivery Timed Out" };
    return { Status: "Success", StatusDetails: "Success" };
  }

  private describeCommand(command: Command) {
    const invocations = [...command.invocations.values()];
    return {
      CommandId: command.commandId,
      DocumentName: command.documentName,
      DocumentVersion: "$DEFAULT",
      Comment: command.comment,
      ExpiresAfter: epochSeconds(new Date(command.requestedAt.getTime() + (command.timeoutSeconds + command.executionTimeoutSeconds) * 1000)),
      Parameters: command.parameters,
      InstanceIds: command.instanceIds,
      Targets: [],
      RequestedDateTime: epochSeconds(command.requestedAt),
      ...this.commandStatus(command),
      OutputS3Region: this.options.region,
      OutputS3BucketName: command.outputBucket,
      OutputS3KeyPrefix: command.outputPrefix,
      MaxConcurrency: "50",
      MaxErrors: "0",
      TargetCount: invocations.length,
      CompletedCount: invocations.filter(isTerminal).length,
      ErrorCount: invocations.filter((i) => i.status === "Failed" || (i.status === "TimedOut" && i.statusDetails !== "DeliveryTimedOut")).length,
      DeliveryTimedOutCount: invocations.filter((i) => i.statusDetails === "DeliveryTimedOut").length,
      ServiceRole: "",
      NotificationConfig: { NotificationArn: "", NotificationEvents: [], NotificationType: "" },
      CloudWatchOutputConfig: this.cloudWatchConfig(command),
      TimeoutSeconds: command.timeoutSeconds,
    };
  }

  private listCommands(input: Record<string, unknown>) {
    let commands: Command[];
    if (input.CommandId !== undefined) commands = [this.findCommand(input.CommandId)];
    else commands = [...this.commands.values()].reverse();
    if (typeof input.InstanceId === "string") commands = commands.filter((c) => c.instanceIds.includes(input.InstanceId as string));
    for (const filter of (input.Filters as { key?: unknown; value?: unknown }[] | undefined) ?? []) commands = commands.filter(this.commandFilter(filter));
    const { page, nextToken } = paginate(commands, input.MaxResults, input.NextToken, 50);
    return { Commands: page.map((c) => this.describeCommand(c)), NextToken: nextToken };
  }

  /** ListCommands' Filters as SSM reads them: keys from CommandFilterKey, dates as ISO 8601, anything else refused. */
  private commandFilter(filter: { key?: unknown; value?: unknown }): (command: Command) => boolean {
    const value = typeof filter.value === "string" ? filter.value : "";
    if (!value || value.length > 128) throw new AwsError("InvalidFilterValue", `The filter value ${JSON.stringify(filter.value)} is not valid.`);
    switch (filter.key) {
      case "InvokedAfter":
      case "InvokedBefore": {
        // As the API reference writes it (2021-07-07T00:00:00Z); the sandbox takes no other form, so Deckhand sends only this one.
        const at = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(value) ? Date.parse(value) : NaN;
        if (Number.isNaN(at)) throw new AwsError("InvalidFilterValue", `${filter.key} must be a date in ISO 8601 (e.g. 2024-07-07T00:00:00Z); got ${value}.`);
        return filter.key === "InvokedAfter" ? (c) => c.requestedAt.getTime() >= at : (c) => c.requestedAt.getTime() <= at;
      }
      case "Status":
        if (!LIST_COMMANDS_STATUSES.includes(value)) throw new AwsError("InvalidFilterValue", `Status ${value} is not a command status.`);
        return (c) => {
          const status = this.commandStatus(c);
          return status.Status === value || status.StatusDetails.replace(/ /g, "") === value;
        };
      case "DocumentName":
        return (c) => c.documentName === value;
      case "ExecutionStage":
        if (value !== "Executing" && value !== "Complete") throw new AwsError("InvalidFilterValue", `ExecutionStage must be Executing or Complete; got ${value}.`);
        return (c) => ([...c.invocations.values()].every(isTerminal) ? "Complete" : "Executing") === value;
      default:
        throw new AwsError("InvalidFilterKey", `The filter key ${JSON.stringify(filter.key)} is not valid (InvokedAfter, InvokedBefore, Status, ExecutionStage, DocumentName).`);
    }
  }

  private cancelCommand(input: Record<string, unknown>) {
    const command = this.findCommand(input.CommandId);
    const targets = Array.isArray(input.InstanceIds) && input.InstanceIds.length ? (input.InstanceIds as string[]) : command.instanceIds;
    for (const instanceId of targets) {
      const invocation = command.invocations.get(instanceId);
      if (!invocation || isTerminal(invocation)) continue;
      if (invocation.status === "Pending") {
        clearTimeout(invocation.startTimer);
        Object.assign(invocation, { status: "Cancelled", statusDetails: "Cancelled", endedAt: new Date() });
      } else if (invocation.execution) {
        // The agent kills the process group; the invocation stays Cancelling until the script is gone.
        // A disconnected agent gets the cancel only once it is back.
        invocation.status = "Cancelling";
        invocation.statusDetails = "Cancelling";
        const execution = invocation.execution;
        const host = this.host(instanceId)!;
        const deliverCancel = () => {
          if (this.stopped) return;
          if (host.faults.has("offline")) setTimeout(deliverCancel, this.options.timing.pendingMs);
          else execution.cancel();
        };
        deliverCancel();
      }
    }
    return {};
  }

  private describeInstanceInformation(input: Record<string, unknown>) {
    const wanted = new Set<string>();
    const filters = [
      ...((input.InstanceInformationFilterList as { key: string; valueSet: string[] }[] | undefined) ?? []).map((f) => ({ key: f.key, values: f.valueSet })),
      ...((input.Filters as { Key: string; Values: string[] }[] | undefined) ?? []).map((f) => ({ key: f.Key, values: f.Values })),
    ];
    const pingFilter = filters.find((f) => f.key === "PingStatus")?.values;
    for (const filter of filters) if (filter.key === "InstanceIds") filter.values.forEach((v) => wanted.add(v));
    const others = (this.options.otherInstances ?? []).map((o, index) => ({
      InstanceId: o.instanceId,
      PingStatus: "Inactive",
      LastPingDateTime: Date.now() / 1000 - 86_400 * (index + 2),
      AgentVersion: "3.2.582.0",
      IsLatestVersion: false,
      PlatformType: "Linux",
      PlatformName: "Ubuntu",
      PlatformVersion: "20.04",
      ResourceType: "EC2Instance",
      IPAddress: `10.0.9.${10 + index}`,
      ComputerName: `ip-10-0-9-${10 + index}.${this.options.region}.compute.internal`,
      Name: o.name,
    }));
    const fleet = this.options.hosts.map((host, index) => ({
        InstanceId: host.instanceId,
        PingStatus: host.faults.has("offline") ? "ConnectionLost" : "Online",
        LastPingDateTime: Date.now() / 1000 - (host.faults.has("offline") ? 600 : 5),
        AgentVersion: "3.3.1142.0",
        IsLatestVersion: true,
        PlatformType: "Linux",
        PlatformName: "Ubuntu",
        PlatformVersion: "22.04",
        ResourceType: "EC2Instance",
        IPAddress: `10.0.1.${11 + index}`,
        ComputerName: `ip-10-0-1-${11 + index}.${this.options.region}.compute.internal`,
        Name: host.name,
      }));
    const rows = [...others, ...fleet]
      .filter((row) => wanted.size === 0 || wanted.has(row.InstanceId))
      .filter((row) => !pingFilter || pingFilter.includes(row.PingStatus));
    if (input.MaxResults !== undefined && (typeof input.MaxResults !== "number" || input.MaxResults < 5 || input.MaxResults > 50)) {
      throw new AwsError("ValidationException", "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value between 5 and 50");
    }
    const { page, nextToken } = paginate(rows, input.MaxResults, input.NextToken, INSTANCE_INFO_PAGE);
    return { InstanceInformationList: page, NextToken: nextToken };
  }

  /** Stop timers and running scripts (the hosts kill the process groups). */
  stop(): void {
    this.stopped = true;
    for (const command of this.commands.values()) {
      for (const invocation of command.invocations.values()) {
        clearTimeout(invocation.startTimer);
        clearInterval(invocation.flushTimer);
      }
    }
  }
}

/**
 * The agent's pluginutil.StringPrefix, on bytes: output of `limit` bytes or more keeps its first
 * `limit - 20` bytes and ends with "--output truncated--". A multibyte character cut in half becomes
 * U+FFFD, as Go's JSON encoder makes of the invalid bytes.
 */
export function truncateOutput(text: string, limit: number): string {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length < limit) return text;
  return bytes.subarray(0, limit - TRUNCATED_SUFFIX.length).toString("utf8") + TRUNCATED_SUFFIX;
}
