// The laptop side of the setup check: who the credentials are, whether the bucket, its retention rule
// and the log group are there, and each permission Deckhand needs, tried with a call that changes nothing.
import { randomUUID } from "node:crypto";
import { FilterLogEventsCommand, GetLogEventsCommand, DescribeLogGroupsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { AbortMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, HeadBucketCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { CancelCommandCommand, DescribeInstanceInformationCommand, GetCommandInvocationCommand, ListCommandInvocationsCommand } from "@aws-sdk/client-ssm";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { describeAwsError } from "../aws/errors";
import { readLifecycle } from "../bundle/catalog";
import type { EnvironmentConfig } from "../config/schema";
import { errorName, fail, isDenied, pass, type CheckLine, type SetupClients } from "./types";

/** A key no bundle ever has: probes use it and never leave an object behind. */
const PROBE = ".deckhand-setup-check";

/**
 * Runs a harmless call. `allowedErrors` are answers that prove the permission is there (e.g. NoSuchKey
 * for a key that does not exist); AccessDenied proves it is not.
 */
async function tryPermission(action: string, resource: string, call: () => Promise<unknown>, allowedErrors: string[], consequence: string): Promise<CheckLine> {
  const name = `Permission ${action}`;
  try {
    await call();
    return pass(name, `allowed on ${resource}`);
  } catch (error) {
    if (allowedErrors.includes(errorName(error))) return pass(name, `allowed on ${resource}`);
    if (isDenied(error)) return fail(name, `denied on ${resource}`, `Add ${action} on ${resource} to the laptop's IAM policy (README › Hosts and IAM). ${consequence}`);
    return fail(name, `could not be tried: ${describeAwsError(error)}`, `Fix the error above, then run the check again.`);
  }
}

export async function checkLaptop(clients: SetupClients, environment: EnvironmentConfig): Promise<CheckLine[]> {
  const lines: CheckLine[] = [];
  const { bucket, prefix, region } = environment;
  const bucketArn = `arn:aws:s3:::${bucket}`;

  let account = "*";
  try {
    const me = await clients.sts.send(new GetCallerIdentityCommand({}));
    account = me.Account ?? "*";
    lines.push(pass("AWS identity", `${me.Arn} (account ${me.Account})`));
  } catch (error) {
    lines.push(fail("AWS identity", describeAwsError(error), "Give Deckhand credentials: set AWS_PROFILE (or run aws sso login --profile <profile>) before starting it."));
    return lines; // nothing else can be tried without credentials
  }

  try {
    await clients.s3.send(new HeadBucketCommand({ Bucket: bucket }));
    lines.push(pass("Deploy bucket", `${bucket} is reachable`));
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) lines.push(fail("Deploy bucket", `there is no bucket ${bucket} in this account`, `Create it in ${region} (aws s3api create-bucket --bucket ${bucket} --region ${region} --create-bucket-configuration LocationConstraint=${region}) or fix "bucket" in deckhand.config.json.`));
    else if (status === 403) lines.push(fail("Deploy bucket", `${bucket} answered 403: it belongs to another account, or these credentials lack s3:ListBucket`, `Allow s3:ListBucket on ${bucketArn} for the laptop (README › Hosts and IAM), or fix "bucket" in deckhand.config.json.`));
    else if (status === 301) lines.push(fail("Deploy bucket", `${bucket} is in another region than ${region}`, `Set the environment's "region" to the bucket's region.`));
    else lines.push(fail("Deploy bucket", describeAwsError(error), "Fix the error above, then run the check again."));
  }

  const lifecycle = await readLifecycle(clients.s3, bucket, prefix);
  if (lifecycle.expirationDays !== null) {
    lines.push(pass("Bundle retention", `lifecycle rule ${lifecycle.ruleId ?? "(unnamed)"} expires ${prefix || "every object"} after ${lifecycle.expirationDays} days`));
  } else if (lifecycle.unreadable) {
    lines.push(fail("Bundle retention", `the lifecycle rules could not be read: ${lifecycle.unreadable}`, `Allow s3:GetLifecycleConfiguration on ${bucketArn} for the laptop.`));
  } else {
    lines.push(
      fail(
        "Bundle retention",
        `no enabled lifecycle rule expires ${prefix || "the bucket's objects"}: old bundles are kept (and billed) for ever`,
        `Add one: aws s3api put-bucket-lifecycle-configuration --bucket ${bucket} --lifecycle-configuration '{"Rules":[{"ID":"deckhand-expire-bundles","Status":"Enabled","Filter":{"Prefix":"${prefix}"},"Expiration":{"Days":${environment.retentionDays}}}]}'`,
      ),
    );
  }

  const group = environment.output.cloudWatchLogGroup;
  if (!group) {
    lines.push(pass("Live output log group", "not configured: deploys show their output when each host ends, not live"));
  } else {
    try {
      const found = await clients.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: group }));
      if (found.logGroups?.some((g) => g.logGroupName === group)) lines.push(pass("Live output log group", `${group} exists`));
      else lines.push(fail("Live output log group", `${group} does not exist`, `Create it: aws logs create-log-group --log-group-name ${group} --region ${region} (the SSM agent creates it only if the instance role may logs:CreateLogGroup).`));
    } catch (error) {
      if (isDenied(error)) lines.push(fail("Live output log group", `${group} could not be looked up: access denied`, `Allow logs:DescribeLogGroups for the laptop. Deploys still run and finish; live output is off until then.`));
      else lines.push(fail("Live output log group", describeAwsError(error), "Fix the error above, then run the check again."));
    }
  }

  const absent = `${prefix}${PROBE}/${randomUUID()}`;
  lines.push(
    await tryPermission("s3:ListBucket", bucketArn, () => clients.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1 })), [], "The bundles list and rollback need it."),
    await tryPermission("s3:GetObject", `${bucketArn}/${prefix}*`, () => clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: absent })), ["NoSuchKey"], "Diffs, rollbacks and S3 output need it."),
    // CreateMultipartUpload is authorised by s3:PutObject; the upload is aborted at once, so nothing is stored.
    await tryPermission(
      "s3:PutObject",
      `${bucketArn}/${prefix}*`,
      async () => {
        const upload = await clients.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: absent }));
        await clients.s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: absent, UploadId: upload.UploadId }));
      },
      [],
      "Uploading bundles needs it (and s3:AbortMultipartUpload to clean up a failed upload).",
    ),
    await tryPermission(
      "ssm:DescribeInstanceInformation",
      `arn:aws:ssm:${region}:${account}:*`,
      () => clients.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: "InstanceIds", Values: environment.hosts.map((h) => h.instanceId) }], MaxResults: 50 })),
      [],
      "Deckhand checks each host is online before sending.",
    ),
    await tryPermission("ssm:ListCommandInvocations", `arn:aws:ssm:${region}:${account}:*`, () => clients.ssm.send(new ListCommandInvocationsCommand({ MaxResults: 1 })), [], "Deploy status needs it."),
    await tryPermission(
      "ssm:GetCommandInvocation",
      `arn:aws:ssm:${region}:${account}:*`,
      () => clients.ssm.send(new GetCommandInvocationCommand({ CommandId: randomUUID(), InstanceId: environment.hosts[0]!.instanceId })),
      ["InvocationDoesNotExist", "InvalidCommandId"],
      "Deploy status needs it.",
    ),
    await tryPermission("ssm:CancelCommand", `arn:aws:ssm:${region}:${account}:*`, () => clients.ssm.send(new CancelCommandCommand({ CommandId: randomUUID() })), ["InvalidCommandId"], "Cancelling a deploy needs it."),
  );
  if (group) {
    const groupArn = `arn:aws:logs:${region}:${account}:log-group:${group}:*`;
    const liveOff = "Deploys still run and end with their true status; live output is off until then.";
    lines.push(
      await tryPermission("logs:FilterLogEvents", groupArn, () => clients.logs.send(new FilterLogEventsCommand({ logGroupName: group, logStreamNamePrefix: `${PROBE}/`, limit: 1 })), [], liveOff),
      await tryPermission("logs:GetLogEvents", groupArn, () => clients.logs.send(new GetLogEventsCommand({ logGroupName: group, logStreamName: `${PROBE}/${randomUUID()}`, limit: 1 })), ["ResourceNotFoundException"], liveOff),
    );
  }
  return lines;
}
