// SigV4-signed fetch for the sandbox's own callers (the hosts' `aws` stand-in, the panel's fault
// switches): the sandbox refuses unsigned requests, as AWS does. Plain ESM so host tools can use it.
import { createHash, createHmac } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";

class Sha256 {
  constructor(secret) {
    this.hash = secret ? createHmac("sha256", secret) : createHash("sha256");
  }
  update(data) {
    this.hash.update(typeof data === "string" ? Buffer.from(data) : data);
  }
  async digest() {
    return new Uint8Array(this.hash.digest());
  }
  reset() {}
}

/**
 * fetch() with an AWS SigV4 Authorization header.
 * @param {string} url
 * @param {{ method?: string, headers?: Record<string, string>, body?: string }} init
 * @param {{ credentials: { accessKeyId: string, secretAccessKey: string }, region: string, service: string }} signing
 */
export async function signedFetch(url, init, signing) {
  const target = new URL(url);
  const query = {};
  for (const [k, v] of target.searchParams) query[k] = v;
  const signer = new SignatureV4({ credentials: signing.credentials, region: signing.region, service: signing.service, sha256: Sha256, uriEscapePath: signing.service !== "s3" });
  const signed = await signer.sign({
    method: init.method ?? "GET",
    protocol: target.protocol,
    hostname: target.hostname,
    port: target.port ? Number(target.port) : undefined,
    path: target.pathname,
    query,
    headers: { host: target.host, ...(signing.service === "s3" ? { "x-amz-content-sha256": "UNSIGNED-PAYLOAD" } : {}), ...(init.headers ?? {}) },
    body: init.body,
  });
  const headers = { ...signed.headers };
  delete headers.host;
  return fetch(url, { method: init.method ?? "GET", headers, body: init.body });
}

/** The credentials a sandbox host's tools sign with (a real host gets them from its instance profile). */
export function envCredentials() {
  const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) return null;
  return { accessKeyId, secretAccessKey };
}
