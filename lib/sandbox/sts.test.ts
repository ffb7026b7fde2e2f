import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newSandboxCredentials } from "./auth";
import type { RunningServer } from "./awsJson";
import { startSts } from "./sts";

const credentials = newSandboxCredentials();
const identity = { account: "000000000000", arn: "arn:aws:iam::000000000000:user/deckhand-sandbox", userId: "AIDASANDBOXDECKHAND0" };
let sts: RunningServer;

beforeAll(async () => {
  sts = await startSts(identity, credentials);
});
afterAll(async () => {
  await sts.close();
});

const client = (keys: { accessKeyId: string; secretAccessKey: string }) => new STSClient({ region: "ap-south-1", endpoint: sts.url, credentials: keys, maxAttempts: 1 });

describe("the sandbox's STS", () => {
  it("answers GetCallerIdentity to a request signed with the sandbox's key", async () => {
    expect(await client(credentials).send(new GetCallerIdentityCommand({}))).toMatchObject({ Account: identity.account, Arn: identity.arn, UserId: identity.userId });
  });

  it("refuses what AWS refuses: unsigned, an unknown key, a wrong signature", async () => {
    const unsigned = await fetch(sts.url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "Action=GetCallerIdentity&Version=2011-06-15" });
    expect(unsigned.status).toBe(403);
    expect(await unsigned.text()).toContain("<Code>MissingAuthenticationToken</Code>");
    await expect(client({ accessKeyId: "AKIAOTHERPERSON00000", secretAccessKey: credentials.secretAccessKey }).send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({ name: "InvalidClientTokenId", $metadata: { httpStatusCode: 403 } });
    await expect(client({ accessKeyId: credentials.accessKeyId, secretAccessKey: "not-the-secret" }).send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({ name: "SignatureDoesNotMatch", $metadata: { httpStatusCode: 403 } });
  });
});
