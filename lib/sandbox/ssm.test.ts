import {
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { DescribeLogStreamsCommand, FilterLogEventsCommand, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "./index";
import { controlFetch, FAST_TIMING, runScript, sandboxClients, sleep, waitForInvocation } from "./testClients";

let sandbox: Sandbox;
let clients: ReturnType<typeof sandboxClients>;
let hostA: string;
let hostB: string;

beforeAll(async () => {
  sandbox = await startSandbox({ timing: FAST_TIMING });
  clients = sandboxClients(sandbox);
  [hostA, hostB] = sandbox.hosts.map((h) => h.instanceId) as [string, string];
});
afterAll(async () => {
  await sandbox?.stop();
});

const setFault = async (instanceId: string, fault: string, on: boolean) => {
  const response = await controlFetch(sandbox, `/faults/${instanceId}`, { method: "PUT", body: { fault, on } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe("SSM Run Command", () => {
  it("goes Pending -> InProgress -> Success on both hosts; output only at the end; invisible right after SendCommand", async () => {
    const commandId = await runScript(sandbox, clients.ssm, '#!/bin/bash\nset -euo pipefail\necho "shell=$BASH_VERSION" | cut -c1-6\nsleep 0.5\necho done\n');
    await expect(clients.ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: hostA }))).rejects.toMatchObject({
      name: "InvocationDoesNotExist",
    });
    expect((await clients.ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId }))).CommandInvocations).toEqual([]);

    const pendingOrRunning = await waitForInvocation(clients.ssm, commandId, hostA, () => true);
    expect(["Pending", "InProgress"]).toContain(pendingOrRunning.Status);
    const running = await waitForInvocation(clients.ssm, commandId, hostA, (o) => o.Status === "InProgress");
    expect(running).toMatchObject({ StatusDetails: "InProgress", ResponseCode: -1, StandardOutputContent: "", StandardErrorContent: "" });
    expect(running.ExecutionStartDateTime).toMatch(/^\d{4}-\d\d-\d\dT/);

    for (const host of [hostA, hostB]) {
      const done = await waitForInvocation(clients.ssm, commandId, host);
      expect(done).toMatchObject({ Status: "Success", StatusDetails: "Success", ResponseCode: 0, PluginName: "aws:runShellScript" });
      expect(done.StandardOutputContent).toBe("shell=\ndone\n");
      expect(done.ExecutionElapsedTime).toMatch(/^PT\d+\.\d+S$/);
    }
    const listed = await clients.ssm.send(new ListCommandsCommand({ CommandId: commandId }));
    expect(listed.Commands?.[0]).toMatchObject({ Status: "Success", TargetCount: 2, CompletedCount: 2, ErrorCount: 0 });
    expect(listed.Commands?.[0]?.RequestedDateTime).toBeInstanceOf(Date);
  });

  it("runs without a shebang under /bin/sh", async () => {
    const commandId = await runScript(sandbox, clients.ssm, 'if [ -n "${BASH_VERSION:-}" ]; then echo bash; else echo sh; fi', { instanceIds: [hostA] });
    const done = await waitForInvocation(clients.ssm, commandId, hostA);
    expect(done.StandardOutputContent).toBe("sh\n");
  });

  it("reports Failed with the script's exit code and stderr; Details output is capped at 2,500 chars", async () => {
    const commandId = await runScript(sandbox, clients.ssm, "#!/bin/bash\necho partial\necho 'boom: disk full' >&2\nexit 3\n", { instanceIds: [hostA] });
    const done = await waitForInvocation(clients.ssm, commandId, hostA);
    expect(done).toMatchObject({ Status: "Failed", StatusDetails: "Failed", ResponseCode: 3, StandardOutputContent: "partial\n", StandardErrorContent: "boom: disk full\n" });
    const details = await clients.ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId, Details: true }));
    const plugin = details.CommandInvocations?.[0]?.CommandPlugins?.[0];
    expect(plugin).toMatchObject({ Name: "aws:runShellScript", Status: "Failed", ResponseCode: 3, Output: "partial\n\n----------ERROR-------\nboom: disk full\n" });
    expect((await clients.ssm.send(new ListCommandsCommand({ CommandId: commandId }))).Commands?.[0]?.Status).toBe("Failed");

    const big = await runScript(sandbox, clients.ssm, "head -c 5000 /dev/zero | tr '\\0' x", { instanceIds: [hostA] });
    await waitForInvocation(clients.ssm, big, hostA);
    const bigDetails = await clients.ssm.send(new ListCommandInvocationsCommand({ CommandId: big, Details: true }));
    expect(bigDetails.CommandInvocations?.[0]?.CommandPlugins?.[0]?.Output).toHaveLength(2500);
  });

  it("truncates at exactly 24,000 / 8,000 chars and writes the full output to S3", async () => {
    const script = "#!/bin/bash\nhead -c 30000 /dev/zero | tr '\\0' o\nhead -c 9000 /dev/zero | tr '\\0' e >&2\n";
    const commandId = await runScript(sandbox, clients.ssm, script, { instanceIds: [hostB], outputPrefix: "ssm-output/" });
    const done = await waitForInvocation(clients.ssm, commandId, hostB);
    expect(done.StandardOutputContent).toHaveLength(24_000);
    expect(done.StandardErrorContent).toHaveLength(8_000);
    const key = `ssm-output/${commandId}/${hostB}/awsrunShellScript/0.awsrunShellScript/stdout`;
    expect(done.StandardOutputUrl).toBe(`${sandbox.endpoints.s3}/${sandbox.bucket}/${key}`);
    const stdout = await clients.s3.send(new GetObjectCommand({ Bucket: sandbox.bucket, Key: key }));
    expect(await stdout.Body!.transformToString()).toHaveLength(30_000);
    const stderr = await clients.s3.send(new GetObjectCommand({ Bucket: sandbox.bucket, Key: key.replace(/stdout$/, "stderr") }));
    expect(await stderr.Body!.transformToString()).toHaveLength(9_000);
  });

  it("kills the process group on executionTimeout: TimedOut / Execution Timed Out / 137", async () => {
    const commandId = await runScript(sandbox, clients.ssm, "#!/bin/bash\necho start\nsleep 30 &\nwait\n", { instanceIds: [hostA], executionTimeout: 1 });
    const done = await waitForInvocation(clients.ssm, commandId, hostA);
    expect(done).toMatchObject({ Status: "TimedOut", StatusDetails: "Execution Timed Out", ResponseCode: 137, StandardOutputContent: "start\n" });
  });

  it("cancels a running command: Cancelling then Cancelled / 137", async () => {
    const commandId = await runScript(sandbox, clients.ssm, "#!/bin/bash\necho waiting\nsleep 30\n", { instanceIds: [hostA, hostB] });
    await waitForInvocation(clients.ssm, commandId, hostA, (o) => o.Status === "InProgress");
    await waitForInvocation(clients.ssm, commandId, hostB, (o) => o.Status === "InProgress");
    await clients.ssm.send(new CancelCommandCommand({ CommandId: commandId }));
    for (const host of [hostA, hostB]) {
      const done = await waitForInvocation(clients.ssm, commandId, host);
      expect(done).toMatchObject({ Status: "Cancelled", StatusDetails: "Cancelled", ResponseCode: 137 });
    }
    expect((await clients.ssm.send(new ListCommandsCommand({ CommandId: commandId }))).Commands?.[0]?.Status).toBe("Cancelled");
  });

  it("an offline host is ConnectionLost and ends DeliveryTimedOut (-1), the other runs", async () => {
    await setFault(hostB, "offline", true);
    try {
      const info = await clients.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: "InstanceIds", Values: [hostA, hostB] }] }));
      expect(info.InstanceInformationList?.map((i) => [i.InstanceId, i.PingStatus])).toEqual([
        [hostA, "Online"],
        [hostB, "ConnectionLost"],
      ]);
      const commandId = await runScript(sandbox, clients.ssm, "echo hi", { timeoutSeconds: 30 });
      expect(await waitForInvocation(clients.ssm, commandId, hostB)).toMatchObject({ Status: "TimedOut", StatusDetails: "DeliveryTimedOut", ResponseCode: -1 });
      expect(await waitForInvocation(clients.ssm, commandId, hostA)).toMatchObject({ Status: "Success", ResponseCode: 0 });
    } finally {
      await setFault(hostB, "offline", false);
    }
  });

  it("fail-next fails the next script once, with a docker-build-like stderr", async () => {
    await setFault(hostA, "fail-next", true);
    const script = `#!/bin/bash\nset -euo pipefail\ncd '${sandbox.remoteRepoPath}/infra'\nsudo docker compose build --no-cache 'audit'\n`;
    const first = await runScript(sandbox, clients.ssm, script, { instanceIds: [hostA] });
    const failed = await waitForInvocation(clients.ssm, first, hostA);
    expect(failed.Status).toBe("Failed");
    expect(failed.ResponseCode).not.toBe(0);
    expect(failed.StandardErrorContent).toContain("failed to solve");
    const second = await runScript(sandbox, clients.ssm, script, { instanceIds: [hostA] });
    expect((await waitForInvocation(clients.ssm, second, hostA)).Status).toBe("Success");
  });

  it("hang makes a deploy step hang until executionTimeout: TimedOut / 137", async () => {
    await setFault(hostB, "hang", true);
    try {
      const script = `#!/bin/bash\nset -euo pipefail\ncd '${sandbox.remoteRepoPath}/infra'\necho building\nsudo docker compose build 'gateway'\necho never\n`;
      const commandId = await runScript(sandbox, clients.ssm, script, { instanceIds: [hostB], executionTimeout: 1 });
      expect(await waitForInvocation(clients.ssm, commandId, hostB)).toMatchObject({ Status: "TimedOut", ResponseCode: 137, StandardOutputContent: "building\n" });
    } finally {
      await setFault(hostB, "hang", false);
    }
  });

  it("streams output to CloudWatch Logs while the command is still InProgress", async () => {
    const group = "/deckhand/ssm";
    const script = "#!/bin/bash\nfor i in 1 2 3; do echo line-$i; sleep 0.3; done\necho oops >&2\nsleep 1.2\necho last\n";
    const commandId = await runScript(sandbox, clients.ssm, script, { instanceIds: [hostA], cloudWatchGroup: group });
    const stream = `${commandId}/${hostA}/aws-runShellScript/stdout`;
    let seenWhileRunning: string[] = [];
    for (let i = 0; i < 100 && seenWhileRunning.length < 3; i++) {
      await sleep(100);
      try {
        const events = await clients.logs.send(new GetLogEventsCommand({ logGroupName: group, logStreamName: stream, startFromHead: true }));
        seenWhileRunning = events.events!.flatMap((e) => e.message!.split("\n")); // several lines per event
      } catch (error) {
        expect((error as Error).name).toBe("ResourceNotFoundException"); // stream not created yet
      }
    }
    const status = await clients.ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: hostA }));
    expect(status.Status).toBe("InProgress");
    expect(seenWhileRunning).toEqual(["line-1", "line-2", "line-3"]);

    await waitForInvocation(clients.ssm, commandId, hostA);
    // Forward-token paging, one event per page: every line once, then the same token when nothing is new.
    const readAll = async () => {
      const lines: string[] = [];
      let token: string | undefined;
      for (;;) {
        const page = await clients.logs.send(new GetLogEventsCommand({ logGroupName: group, logStreamName: stream, startFromHead: true, limit: 1, nextToken: token }));
        if (page.events!.length === 0) {
          expect(page.nextForwardToken).toBe(token);
          return lines;
        }
        lines.push(...page.events!.flatMap((e) => e.message!.split("\n")));
        token = page.nextForwardToken;
      }
    };
    const deadline = Date.now() + 5000;
    let lines = await readAll();
    while (lines.at(-1) !== "last" && Date.now() < deadline) {
      await sleep(100);
      lines = await readAll();
    }
    expect(lines).toEqual(["line-1", "line-2", "line-3", "last"]);
    // Readable from its stream is not yet searchable: a search sees the last batch only after the ingestion delay.
    await sleep(FAST_TIMING.ingestionDelayMs);

    const streams = await clients.logs.send(new DescribeLogStreamsCommand({ logGroupName: group, logStreamNamePrefix: `${commandId}/` }));
    expect(streams.logStreams!.map((s) => s.logStreamName)).toEqual([stream.replace(/stdout$/, "stderr"), stream]);
    const filtered = await clients.logs.send(new FilterLogEventsCommand({ logGroupName: group, logStreamNamePrefix: `${commandId}/`, limit: 1 }));
    expect(filtered.events).toHaveLength(1);
    const rest = await clients.logs.send(new FilterLogEventsCommand({ logGroupName: group, logStreamNamePrefix: `${commandId}/`, nextToken: filtered.nextToken }));
    const all = [...filtered.events!, ...rest.events!];
    expect(all.map((e) => [e.logStreamName?.split("/").pop(), e.message]).filter(([name]) => name === "stderr")).toEqual([["stderr", "oops"]]);
    expect(all.filter((e) => e.logStreamName === stream).flatMap((e) => e.message!.split("\n"))).toEqual(["line-1", "line-2", "line-3", "last"]);
    expect(rest.nextToken).toBeUndefined();
    const byName = await clients.logs.send(new FilterLogEventsCommand({ logGroupName: group, logStreamNames: [stream.replace(/stdout$/, "stderr")] }));
    expect(byName.events!.map((e) => e.message)).toEqual(["oops"]);

    await expect(clients.logs.send(new GetLogEventsCommand({ logGroupName: "/nope", logStreamName: stream }))).rejects.toMatchObject({ name: "ResourceNotFoundException" });
    await expect(clients.logs.send(new GetLogEventsCommand({ logGroupName: group, logStreamName: "nope" }))).rejects.toMatchObject({ name: "ResourceNotFoundException" });
  });

  it("answers errors as the real service does, surfaced as named SDK exceptions", async () => {
    const send = (instanceIds: string[], documentName = "AWS-RunShellScript") =>
      clients.ssm.send(new SendCommandCommand({ DocumentName: documentName, InstanceIds: instanceIds, Parameters: { commands: ["true"] } }));
    await expect(send(["i-0123456789abcdef0"])).rejects.toMatchObject({ name: "InvalidInstanceId", $metadata: { httpStatusCode: 400 } });
    await expect(send([hostA], "AWS-RunPowerShellScript")).rejects.toMatchObject({ name: "InvalidDocument" });
    const unknown = "11111111-2222-3333-4444-555555555555";
    await expect(clients.ssm.send(new ListCommandsCommand({ CommandId: unknown }))).rejects.toMatchObject({ name: "InvalidCommandId" });
    await expect(clients.ssm.send(new ListCommandInvocationsCommand({ CommandId: unknown }))).rejects.toMatchObject({ name: "InvalidCommandId" });
    await expect(clients.ssm.send(new CancelCommandCommand({ CommandId: unknown }))).rejects.toMatchObject({ name: "InvalidCommandId" });
    await expect(clients.ssm.send(new GetCommandInvocationCommand({ CommandId: unknown, InstanceId: hostA }))).rejects.toMatchObject({ name: "InvocationDoesNotExist" });
  });

  it("pages ListCommandInvocations and ListCommands with MaxResults / NextToken", async () => {
    const ids = [await runScript(sandbox, clients.ssm, "true"), await runScript(sandbox, clients.ssm, "true")];
    for (const id of ids) for (const host of [hostA, hostB]) await waitForInvocation(clients.ssm, id, host);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await clients.ssm.send(new ListCommandInvocationsCommand({ MaxResults: 3, NextToken: token }));
      expect(page.CommandInvocations!.length).toBeLessThanOrEqual(3);
      seen.push(...page.CommandInvocations!.map((i) => `${i.CommandId}/${i.InstanceId}`));
      token = page.NextToken;
    } while (token);
    for (const id of ids) expect(seen).toEqual(expect.arrayContaining([`${id}/${hostA}`, `${id}/${hostB}`]));
    const commands = await clients.ssm.send(new ListCommandsCommand({ MaxResults: 1 }));
    expect(commands.Commands).toHaveLength(1);
    expect(commands.NextToken).toBeTruthy();
  });

  it("ListCommands applies Filters as SSM does and refuses ones it would refuse", async () => {
    const stamp = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
    const since = Date.now() - 1000;
    const commandId = await runScript(sandbox, clients.ssm, "#!/bin/bash\necho filtered", { instanceIds: [hostA] });
    await waitForInvocation(clients.ssm, commandId, hostA);
    const list = async (filters: { key: "InvokedAfter" | "InvokedBefore" | "Status" | "DocumentName" | "ExecutionStage"; value: string }[]) =>
      ((await clients.ssm.send(new ListCommandsCommand({ Filters: filters }))).Commands ?? []).map((c) => c.CommandId);
    expect(await list([{ key: "InvokedAfter", value: stamp(since) }])).toContain(commandId);
    expect(await list([{ key: "InvokedAfter", value: stamp(Date.now() + 60_000) }])).not.toContain(commandId);
    expect(await list([{ key: "InvokedBefore", value: stamp(since) }])).not.toContain(commandId);
    expect(await list([{ key: "InvokedAfter", value: stamp(since) }, { key: "Status", value: "Success" }])).toContain(commandId);
    expect(await list([{ key: "InvokedAfter", value: stamp(since) }, { key: "Status", value: "Failed" }])).not.toContain(commandId);
    expect(await list([{ key: "ExecutionStage", value: "Complete" }])).toContain(commandId);
    expect(await list([{ key: "DocumentName", value: "AWS-RunPowerShellScript" }])).toEqual([]);
    await expect(list([{ key: "InvokedAfter", value: "yesterday" }])).rejects.toMatchObject({ name: "InvalidFilterValue" });
    await expect(list([{ key: "Status", value: "Sleeping" }])).rejects.toMatchObject({ name: "InvalidFilterValue" });
    await expect(clients.ssm.send(new ListCommandsCommand({ Filters: [{ key: "Owner" as never, value: "me" }] }))).rejects.toMatchObject({ name: "InvalidFilterKey" });
  });

  it("throttles with ThrottlingException and the SDK's adaptive retries get through", async () => {
    const before = (await (await fetch(`${sandbox.endpoints.control}/state`)).json()) as { ssm: { throttledResponses: number } };
    await controlFetch(sandbox, "/throttle", { method: "PUT", body: { throttle: { ratePerSecond: 20, burst: 2 } } });
    try {
      const patient = new SSMClient({ ...clientsConfig(), maxAttempts: 10, retryMode: "adaptive" });
      const results = await Promise.all(Array.from({ length: 6 }, () => patient.send(new DescribeInstanceInformationCommand({}))));
      expect(results.every((r) => r.InstanceInformationList?.length === 10)).toBe(true); // the first page
      const after = (await (await fetch(`${sandbox.endpoints.control}/state`)).json()) as { ssm: { throttledResponses: number } };
      expect(after.ssm.throttledResponses).toBeGreaterThan(before.ssm.throttledResponses);
      const impatient = new SSMClient({ ...clientsConfig(), maxAttempts: 1 });
      const outcomes = await Promise.allSettled(Array.from({ length: 6 }, () => impatient.send(new DescribeInstanceInformationCommand({}))));
      expect(outcomes.some((o) => o.status === "rejected" && (o.reason as Error).name === "ThrottlingException")).toBe(true);
    } finally {
      await controlFetch(sandbox, "/throttle", { method: "PUT", body: { throttle: null } });
    }
  });

  it("the control API rejects unknown hosts and faults with 400", async () => {
    expect(await setFault("i-00000000000000000", "offline", true)).toMatchObject({ status: 400, body: { error: expect.stringContaining("Unknown instance id") } });
    expect(await setFault(hostA, "meteor", true)).toMatchObject({ status: 400, body: { error: expect.stringContaining("Unknown fault") } });
    expect(() => sandbox.setFault(hostA, "meteor" as never, true)).toThrow(/Unknown fault/);
  });
});

function clientsConfig() {
  return { region: sandbox.region, endpoint: sandbox.endpoints.ssm, credentials: sandbox.credentials };
}
