// The sandbox is as strict as AWS where Deckhand relies on it (see shared notes real-aws.md): each
// behaviour proven here over the real SDK and wire protocols.
import { DescribeLogGroupsCommand, FilterLogEventsCommand, GetLogEventsCommand, type FilteredLogEvent } from "@aws-sdk/client-cloudwatch-logs";
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteBucketLifecycleCommand,
  GetBucketLifecycleConfigurationCommand,
  GetObjectCommand,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { CancelCommandCommand, DescribeInstanceInformationCommand, ListCommandsCommand } from "@aws-sdk/client-ssm";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAULT_NAMES } from "./faults";
import { startSandbox, type Sandbox } from "./index";
import { TRUNCATED_SUFFIX, truncateOutput } from "./ssm";
import { controlFetch, FAST_TIMING, runScript, sandboxClients, sleep, waitForInvocation } from "./testClients";

let sandbox: Sandbox;
let clients: ReturnType<typeof sandboxClients>;
let hostA: string;
let hostB: string;
const GROUP = "/deckhand/ssm";

beforeAll(async () => {
  sandbox = await startSandbox({ timing: FAST_TIMING });
  clients = sandboxClients(sandbox);
  [hostA, hostB] = sandbox.hosts.map((h) => h.instanceId) as [string, string];
});
afterAll(async () => {
  await sandbox?.stop();
});

async function withFault<T>(instanceId: string, fault: string, work: () => Promise<T>): Promise<T> {
  const put = (on: boolean) => controlFetch(sandbox, `/faults/${instanceId}`, { method: "PUT", body: { fault, on } });
  expect((await put(true)).status).toBe(200);
  try {
    return await work();
  } finally {
    await put(false);
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await sleep(50);
  }
}

async function allEvents(prefix: string): Promise<FilteredLogEvent[]> {
  const events: FilteredLogEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await clients.logs.send(new FilterLogEventsCommand({ logGroupName: GROUP, logStreamNamePrefix: prefix, nextToken }));
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

const bytes = (text: string | undefined) => Buffer.byteLength(text ?? "");

describe("the host, as the SSM agent runs it", () => {
  it("runs `sh -c <file>` (mode 0700) from the orchestration folder with HOME unset", async () => {
    const script = 'echo "home=${HOME-unset}"\necho "cwd=$(pwd)"\necho "mode=$(stat -c %a "$0")"\necho "file=$0"\nif [ -n "${BASH_VERSION:-}" ]; then echo bash; else echo sh; fi';
    const commandId = await runScript(sandbox, clients.ssm, script, { instanceIds: [hostA] });
    const out = (await waitForInvocation(clients.ssm, commandId, hostA)).StandardOutputContent!;
    expect(out).toContain("home=unset\n");
    expect(out).toMatch(new RegExp(`cwd=/.*/document/orchestration/${commandId}/awsrunShellScript/0\\.awsrunShellScript\\n`));
    expect(out).toContain("mode=700\n");
    expect(out).toMatch(/file=\/.*\/_script\.sh\n/);
    expect(out.endsWith("sh\n")).toBe(true);

    const bash = await runScript(sandbox, clients.ssm, '#!/bin/bash\necho "home=${HOME-unset} bash=${BASH_VERSION:+yes}"', { instanceIds: [hostA] });
    expect((await waitForInvocation(clients.ssm, bash, hostA)).StandardOutputContent).toBe("home=unset bash=yes\n");
  });

  it("no-aws-cli: the host has no `aws` on PATH (docker compose, curl, tar, sha256sum are there)", async () => {
    const script = "for t in aws docker curl tar sha256sum; do if command -v $t >/dev/null; then echo $t=yes; else echo $t=no; fi; done\ndocker compose version >/dev/null && echo compose=yes";
    const healthy = await runScript(sandbox, clients.ssm, script, { instanceIds: [hostA] });
    expect((await waitForInvocation(clients.ssm, healthy, hostA)).StandardOutputContent).toBe("aws=yes\ndocker=yes\ncurl=yes\ntar=yes\nsha256sum=yes\ncompose=yes\n");
    await withFault(hostA, "no-aws-cli", async () => {
      const bare = await runScript(sandbox, clients.ssm, script, { instanceIds: [hostA] });
      expect((await waitForInvocation(clients.ssm, bare, hostA)).StandardOutputContent).toBe("aws=no\ndocker=yes\ncurl=yes\ntar=yes\nsha256sum=yes\ncompose=yes\n");
    });
  });
});

describe("inline output, cut in bytes like the agent", () => {
  it("truncateOutput follows pluginutil.StringPrefix: below the limit untouched, at the limit cut to limit-20 bytes + marker", () => {
    expect(truncateOutput("x".repeat(23_999), 24_000)).toBe("x".repeat(23_999));
    expect(truncateOutput("x".repeat(24_000), 24_000)).toBe("x".repeat(23_980) + TRUNCATED_SUFFIX);
    const cut = truncateOutput("é".repeat(20_000), 24_000); // 40,000 bytes
    expect(cut).toBe("é".repeat(11_990) + TRUNCATED_SUFFIX); // 23,980 bytes + the 20-byte marker
    // A character cut in half becomes U+FFFD, as Go's JSON encoder makes of the stray byte.
    expect(truncateOutput("x" + "é".repeat(20), 30)).toBe("x" + "é".repeat(4) + "\uFFFD" + TRUNCATED_SUFFIX);
  });

  it("multibyte stdout is truncated well before 24,000 characters; S3 holds the whole output; empty streams make no object", async () => {
    const script = "#!/bin/bash\nfor i in $(seq 1 2000); do echo 'Ünïcödé ✓ step'; done\nhead -c 9000 /dev/zero | tr '\\0' e >&2\n";
    const commandId = await runScript(sandbox, clients.ssm, script, { instanceIds: [hostB], outputPrefix: "ssm-output/" });
    const done = await waitForInvocation(clients.ssm, commandId, hostB);
    expect(bytes(done.StandardOutputContent)).toBe(24_000);
    expect(done.StandardOutputContent!.length).toBeLessThan(20_000);
    expect(done.StandardOutputContent!.endsWith(TRUNCATED_SUFFIX)).toBe(true);
    expect(done.StandardErrorContent).toBe("e".repeat(8_000 - TRUNCATED_SUFFIX.length) + TRUNCATED_SUFFIX);
    const key = `ssm-output/${commandId}/${hostB}/awsrunShellScript/0.awsrunShellScript/stdout`;
    const full = await (await clients.s3.send(new GetObjectCommand({ Bucket: sandbox.bucket, Key: key }))).Body!.transformToString();
    expect(full).toBe("Ünïcödé ✓ step\n".repeat(2000));

    const quiet = await runScript(sandbox, clients.ssm, "echo only-stdout", { instanceIds: [hostB], outputPrefix: "ssm-output/" });
    const quietDone = await waitForInvocation(clients.ssm, quiet, hostB);
    expect(quietDone.StandardErrorUrl).toMatch(/stderr$/); // the URL is given even when no object exists
    const quietKey = `ssm-output/${quiet}/${hostB}/awsrunShellScript/0.awsrunShellScript`;
    expect(await (await clients.s3.send(new GetObjectCommand({ Bucket: sandbox.bucket, Key: `${quietKey}/stdout` }))).Body!.transformToString()).toBe("only-stdout\n");
    await expect(clients.s3.send(new GetObjectCommand({ Bucket: sandbox.bucket, Key: `${quietKey}/stderr` }))).rejects.toMatchObject({ name: "NoSuchKey" });
  });

  it("s3-output-denied: the invocation succeeds but no output object is written", async () => {
    await withFault(hostA, "s3-output-denied", async () => {
      const commandId = await runScript(sandbox, clients.ssm, "echo hello; echo warn >&2", { instanceIds: [hostA], outputPrefix: "ssm-output/" });
      expect(await waitForInvocation(clients.ssm, commandId, hostA)).toMatchObject({ Status: "Success", StandardOutputContent: "hello\n" });
      const key = `ssm-output/${commandId}/${hostA}/awsrunShellScript/0.awsrunShellScript/stdout`;
      await expect(clients.s3.send(new GetObjectCommand({ Bucket: sandbox.bucket, Key: key }))).rejects.toMatchObject({ name: "NoSuchKey" });
    });
  });
});

describe("CloudWatch Logs, as the agent uploads them", () => {
  it("batches several lines per event, stamps them with each host's clock (EC2 b 4 s behind), searchable late, the last batch after the command ends", async () => {
    const script = "#!/bin/bash\nfor i in $(seq 1 12); do echo line-$i; sleep 0.03; done\nsleep 0.5\necho tail-1\necho tail-2\n";
    const commandId = await runScript(sandbox, clients.ssm, script, { cloudWatchGroup: GROUP });
    const expected = Array.from({ length: 12 }, (_, i) => `line-${i + 1}`).concat(["tail-1", "tail-2"]).join("\n");
    for (const host of [hostA, hostB]) await waitForInvocation(clients.ssm, commandId, host);
    // Right when both hosts are done, the tail of the output is not searchable yet.
    const early = await allEvents(`${commandId}/`);
    expect(early.some((e) => e.message?.includes("tail-2"))).toBe(false);

    for (const [host, skew] of [
      [hostA, 0],
      [hostB, -4000],
    ] as const) {
      const events = await waitFor(`the full stdout of ${host} in CloudWatch`, async () => {
        const got = await allEvents(`${commandId}/${host}/`);
        return got.map((e) => e.message).join("\n") === expected ? got : undefined;
      });
      expect(events.length).toBeLessThan(14); // several lines per event
      expect(events.some((e) => e.message!.includes("\n"))).toBe(true);
      for (const event of events) {
        expect(event.eventId).toMatch(/^\d+$/);
        expect(event.timestamp! - event.ingestionTime!).toBeGreaterThan(skew - 400);
        expect(event.timestamp! - event.ingestionTime!).toBeLessThan(skew + 400);
      }
    }
  });

  it("FilterLogEvents orders by the hosts' own timestamps: a skewed host's later lines sort before the other host's earlier ones", async () => {
    const commandId = await runScript(sandbox, clients.ssm, "#!/bin/bash\necho first\n", { instanceIds: [hostA], cloudWatchGroup: GROUP });
    await waitForInvocation(clients.ssm, commandId, hostA);
    await sleep(1000);
    const later = await runScript(sandbox, clients.ssm, "#!/bin/bash\necho second\n", { instanceIds: [hostB], cloudWatchGroup: GROUP });
    await waitForInvocation(clients.ssm, later, hostB);
    const events = await waitFor("both events searchable", async () => {
      const got = (await clients.logs.send(new FilterLogEventsCommand({ logGroupName: GROUP, logStreamNames: [`${commandId}/${hostA}/aws-runShellScript/stdout`, `${later}/${hostB}/aws-runShellScript/stdout`] }))
        .catch((error: Error) => {
          if (error.name === "ResourceNotFoundException") return { events: [] }; // a stream not created yet
          throw error;
        })).events ?? [];
      return got.length === 2 ? got : undefined;
    });
    expect(events.map((e) => e.logStreamName!.split("/")[1])).toEqual([hostB, hostA]);
  });

  it("no-logs-role: the host never creates its streams; the other host's stream exists", async () => {
    await withFault(hostB, "no-logs-role", async () => {
      const commandId = await runScript(sandbox, clients.ssm, "echo hi", { cloudWatchGroup: GROUP });
      for (const host of [hostA, hostB]) expect((await waitForInvocation(clients.ssm, commandId, host)).Status).toBe("Success");
      await waitFor("EC2 a's stream", async () => ((await allEvents(`${commandId}/${hostA}/`)).length ? true : undefined));
      await sleep(FAST_TIMING.ingestionDelayMs + 2 * FAST_TIMING.logFlushMs);
      await expect(clients.logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: `${commandId}/${hostB}/aws-runShellScript/stdout` }))).rejects.toMatchObject({
        name: "ResourceNotFoundException",
      });
    });
  });

  it("logs-denied: every Logs call is AccessDenied while SSM goes on", async () => {
    await withFault(hostA, "logs-denied", async () => {
      await expect(clients.logs.send(new FilterLogEventsCommand({ logGroupName: GROUP }))).rejects.toMatchObject({ name: "AccessDeniedException", $metadata: { httpStatusCode: 400 } });
      await expect(clients.logs.send(new DescribeLogGroupsCommand({}))).rejects.toMatchObject({ name: "AccessDeniedException" });
      const commandId = await runScript(sandbox, clients.ssm, "echo still-works", { instanceIds: [hostB], cloudWatchGroup: GROUP });
      expect((await waitForInvocation(clients.ssm, commandId, hostB)).StandardOutputContent).toBe("still-works\n");
    });
    expect((await clients.logs.send(new DescribeLogGroupsCommand({}))).logGroups?.map((g) => g.logGroupName)).toContain(GROUP);
  });
});

describe("an offline host, as SSM treats it", () => {
  it("stays Pending (Delayed) and ConnectionLost, then TimedOut / DeliveryTimedOut after TimeoutSeconds + executionTimeout (scaled)", async () => {
    await withFault(hostB, "offline", async () => {
      const info = await clients.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: "InstanceIds", Values: [hostA, hostB] }] }));
      expect(info.InstanceInformationList?.map((i) => [i.InstanceId, i.PingStatus])).toEqual([
        [hostA, "Online"],
        [hostB, "ConnectionLost"],
      ]);
      const sent = Date.now();
      // (30 s + 600 s) at time scale 0.002: 1.26 s.
      const commandId = await runScript(sandbox, clients.ssm, "echo hi", { timeoutSeconds: 30, executionTimeout: 600 });
      expect(await waitForInvocation(clients.ssm, commandId, hostA)).toMatchObject({ Status: "Success" });
      const delayed = await waitForInvocation(clients.ssm, commandId, hostB, (o) => o.StatusDetails === "Delayed");
      expect(delayed).toMatchObject({ Status: "Pending", ResponseCode: -1 });
      const done = await waitForInvocation(clients.ssm, commandId, hostB);
      expect(done).toMatchObject({ Status: "TimedOut", StatusDetails: "DeliveryTimedOut", ResponseCode: -1, ExecutionStartDateTime: "" });
      expect(Date.now() - sent).toBeGreaterThanOrEqual((30 + 600) * 1000 * FAST_TIMING.timeScale - 50);
      const command = (await clients.ssm.send(new ListCommandsCommand({ CommandId: commandId }))).Commands![0]!;
      expect(command).toMatchObject({ Status: "TimedOut", DeliveryTimedOutCount: 1, ErrorCount: 0, CompletedCount: 2 });
    });
  });

  it("a host back in time runs the script late", async () => {
    let commandId = "";
    let sent = 0;
    await withFault(hostB, "offline", async () => {
      sent = Date.now();
      commandId = await runScript(sandbox, clients.ssm, "echo late", { instanceIds: [hostB], timeoutSeconds: 600, executionTimeout: 600 });
      await waitForInvocation(clients.ssm, commandId, hostB, (o) => o.StatusDetails === "Delayed");
      await sleep(600);
    });
    const done = await waitForInvocation(clients.ssm, commandId, hostB);
    expect(done).toMatchObject({ Status: "Success", StandardOutputContent: "late\n" });
    expect(new Date(done.ExecutionStartDateTime!).getTime() - sent).toBeGreaterThanOrEqual(600);
  });
});

describe("a host that goes offline mid-way", () => {
  it("keeps its invocation InProgress (no output, no result) while disconnected; the cancel and the result arrive when it is back", async () => {
    const commandId = await runScript(sandbox, clients.ssm, "#!/bin/bash\necho started\nsleep 0.4\necho finished\n", { instanceIds: [hostB], cloudWatchGroup: GROUP });
    await waitForInvocation(clients.ssm, commandId, hostB, (o) => o.Status === "InProgress");
    await withFault(hostB, "offline", async () => {
      await sleep(1500); // the script is long done on the host
      expect(await waitForInvocation(clients.ssm, commandId, hostB, () => true)).toMatchObject({ Status: "InProgress", StandardOutputContent: "" });
    });
    expect(await waitForInvocation(clients.ssm, commandId, hostB)).toMatchObject({ Status: "Success", StandardOutputContent: "started\nfinished\n" });

    const long = await runScript(sandbox, clients.ssm, "#!/bin/bash\necho started\nsleep 30\n", { instanceIds: [hostB] });
    await waitForInvocation(clients.ssm, long, hostB, (o) => o.Status === "InProgress");
    await withFault(hostB, "offline", async () => {
      await clients.ssm.send(new CancelCommandCommand({ CommandId: long }));
      await sleep(500);
      expect((await waitForInvocation(clients.ssm, long, hostB, () => true)).Status).toBe("Cancelling");
    });
    expect(await waitForInvocation(clients.ssm, long, hostB)).toMatchObject({ Status: "Cancelled", ResponseCode: 137 });
  });
});

describe("DescribeInstanceInformation pages like AWS", () => {
  it("10 per page by default (the account's other instances come first), MaxResults 5..50, NextToken", async () => {
    const first = await clients.ssm.send(new DescribeInstanceInformationCommand({}));
    expect(first.InstanceInformationList).toHaveLength(10);
    expect(first.NextToken).toBeTruthy();
    const second = await clients.ssm.send(new DescribeInstanceInformationCommand({ NextToken: first.NextToken }));
    expect(second.InstanceInformationList!.map((i) => i.InstanceId)).toEqual([hostA, hostB]);
    expect(second.NextToken).toBeUndefined();
    const all = await clients.ssm.send(new DescribeInstanceInformationCommand({ MaxResults: 50 }));
    expect(all.InstanceInformationList).toHaveLength(12);
    expect(all.InstanceInformationList!.filter((i) => i.PingStatus === "Inactive")).toHaveLength(10);
    await expect(clients.ssm.send(new DescribeInstanceInformationCommand({ MaxResults: 51 }))).rejects.toMatchObject({ name: "ValidationException" });
  });
});

describe("S3 conditional writes (If-None-Match: *), as real S3", () => {
  it("two PutObjects racing for one key: one wins, the other gets 412 PreconditionFailed; the winner's body stays", async () => {
    const Key = `race/${Date.now()}.txt`;
    const put = (body: string) => clients.s3.send(new PutObjectCommand({ Bucket: sandbox.bucket, Key, Body: body, IfNoneMatch: "*" }));
    const results = await Promise.allSettled([put("one"), put("two")]);
    const won = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
    expect(won).toHaveLength(1);
    const lost = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(lost.reason).toMatchObject({ name: "PreconditionFailed", $metadata: { httpStatusCode: 412 } });
    const body = await (await clients.s3.send(new GetObjectCommand({ Bucket: sandbox.bucket, Key }))).Body!.transformToString();
    expect(body).toBe(won[0] === 0 ? "one" : "two");
    // An unconditional write still overwrites.
    await clients.s3.send(new PutObjectCommand({ Bucket: sandbox.bucket, Key, Body: "three" }));
  });

  it("CompleteMultipartUpload with If-None-Match: * fails with 412 when the key exists, succeeds when it does not", async () => {
    const Bucket = sandbox.bucket;
    const multipart = async (Key: string) => {
      const { UploadId } = await clients.s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
      const part = await clients.s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: "multipart body" }));
      return clients.s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, IfNoneMatch: "*", MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    };
    const Key = `race/multi-${Date.now()}.bin`;
    await multipart(Key);
    expect(await (await clients.s3.send(new GetObjectCommand({ Bucket, Key }))).Body!.transformToString()).toBe("multipart body");
    await expect(multipart(Key)).rejects.toMatchObject({ name: "PreconditionFailed", $metadata: { httpStatusCode: 412 } });
  });
});

describe("S3 bucket lifecycle rules, as real S3", () => {
  it("no rule: 404 NoSuchLifecycleConfiguration; a rule put is kept and read back; delete removes it", async () => {
    const Bucket = sandbox.bucket;
    await expect(clients.s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket }))).rejects.toMatchObject({ name: "NoSuchLifecycleConfiguration", $metadata: { httpStatusCode: 404 } });
    await clients.s3.send(
      new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules: [{ ID: "expire-bundles", Status: "Enabled", Filter: { Prefix: "deployments/" }, Expiration: { Days: 7 } }] } }),
    );
    const rules = (await clients.s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket }))).Rules;
    expect(rules).toEqual([expect.objectContaining({ ID: "expire-bundles", Status: "Enabled", Filter: { Prefix: "deployments/" }, Expiration: { Days: 7 } })]);
    await clients.s3.send(new DeleteBucketLifecycleCommand({ Bucket }));
    await expect(clients.s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket }))).rejects.toMatchObject({ name: "NoSuchLifecycleConfiguration" });
  });
});

describe("STS and the fault list", () => {
  it("answers GetCallerIdentity over the Query protocol", async () => {
    const me = await clients.sts.send(new GetCallerIdentityCommand({}));
    expect(me).toMatchObject({ Account: "000000000000", Arn: "arn:aws:iam::000000000000:user/deckhand-sandbox" });
  });

  it("the control API knows every fault of the one list and reports each host's clock skew", async () => {
    for (const fault of FAULT_NAMES) await withFault(hostA, fault, async () => expect(sandbox.faults()[hostA]).toEqual([fault]));
    const state = (await (await fetch(`${sandbox.endpoints.control}/state`)).json()) as { hosts: { name: string; clockSkewMs: number }[]; faultCatalog: { name: string }[] };
    expect(state.hosts.map((h) => [h.name, h.clockSkewMs])).toEqual([
      ["EC2 a", 0],
      ["EC2 b", -4000],
    ]);
    expect(state.faultCatalog.map((f) => f.name)).toEqual([...FAULT_NAMES]);
  });
});
