// Request authentication for every sandbox endpoint. The sandbox runs scripts as root on its hosts,
// so it must not answer a request that was not signed with the credentials it printed at start:
// each server's request entry calls `authorize` first and answers with AWS's own error when it fails.
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";
import type { IncomingHttpHeaders } from "node:http";

export interface SandboxCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** A fresh key pair per sandbox start, shaped like AWS's (AKIA… + 40-character secret). */
export function newSandboxCredentials(): SandboxCredentials {
  const id = [...randomBytes(16)].map((b) => BASE32[b % 32]).join("");
  return { accessKeyId: `AKIA${id}`, secretAccessKey: randomBytes(30).toString("base64") };
}

export type AuthFailure = { reason: "missing" | "malformed" | "unknown-key" | "foreign-host" | "bad-signature" | "expired"; message: string };

const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?$/i;

/** The access key id a SigV4 request claims: from the Authorization header, or a presigned URL's X-Amz-Credential. */
export function claimedAccessKey(headers: IncomingHttpHeaders, url: string): string | null | "malformed" {
  const authorization = headers.authorization;
  if (typeof authorization === "string" && authorization.length > 0) {
    const match = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\//.exec(authorization);
    return match ? match[1]! : "malformed";
  }
  const query = new URL(url, "http://sandbox").searchParams;
  const credential = query.get("X-Amz-Credential");
  if (credential !== null) {
    if (query.get("X-Amz-Algorithm") !== "AWS4-HMAC-SHA256" || !query.get("X-Amz-Signature")) return "malformed";
    const id = credential.split("/")[0];
    return id ? id : "malformed";
  }
  return null;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Null when the request may proceed: its Host is this machine (a DNS-rebound page's Host is not)
 * and it is SigV4-signed with the sandbox's access key id. Otherwise why not, in words.
 */
export function authorize(request: { headers: IncomingHttpHeaders; url?: string }, credentials: SandboxCredentials): AuthFailure | null {
  const host = request.headers.host ?? "";
  if (!LOOPBACK_HOST.test(host)) return { reason: "foreign-host", message: `Host ${JSON.stringify(host)} is not this machine` };
  const claimed = claimedAccessKey(request.headers, request.url ?? "/");
  if (claimed === null) return { reason: "missing", message: "Request is missing Authentication Token" };
  if (claimed === "malformed") return { reason: "malformed", message: "Authorization header requires a SigV4 Credential" };
  if (!same(claimed, credentials.accessKeyId)) {
    return { reason: "unknown-key", message: "The security token included in the request is invalid." };
  }
  return null;
}

/** AWS JSON 1.1 (SSM, CloudWatch Logs): the error type and status AWS answers for each failure. */
export function jsonAuthError(failure: AuthFailure): { code: string; status: number; message: string } {
  switch (failure.reason) {
    case "missing":
      return { code: "MissingAuthenticationTokenException", status: 400, message: "Missing Authentication Token" };
    case "malformed":
      return { code: "IncompleteSignatureException", status: 400, message: failure.message };
    case "unknown-key":
      return { code: "UnrecognizedClientException", status: 400, message: "The security token included in the request is invalid." };
    case "foreign-host":
      return { code: "AccessDeniedException", status: 403, message: failure.message };
    case "bad-signature":
      return { code: "InvalidSignatureException", status: 400, message: failure.message };
    case "expired":
      return { code: "ExpiredTokenException", status: 400, message: failure.message };
  }
}

/** Query protocol (STS, ELBv2): the error code and status AWS answers for each failure. */
export function queryAuthError(failure: AuthFailure): { code: string; status: number; message: string } {
  switch (failure.reason) {
    case "missing":
      return { code: "MissingAuthenticationToken", status: 403, message: "Request is missing Authentication Token" };
    case "malformed":
      return { code: "IncompleteSignature", status: 400, message: failure.message };
    case "unknown-key":
      return { code: "InvalidClientTokenId", status: 403, message: "The security token included in the request is invalid." };
    case "foreign-host":
      return { code: "AccessDenied", status: 403, message: failure.message };
    case "bad-signature":
      return { code: "SignatureDoesNotMatch", status: 403, message: failure.message };
    case "expired":
      return { code: "ExpiredToken", status: 403, message: failure.message };
  }
}

/** Null when a Query-protocol request may proceed (loopback Host, the sandbox's key, a valid SigV4 signature). */
export async function authorizeQuery(request: { method?: string; url?: string; headers: IncomingHttpHeaders }, body: Uint8Array, credentials: SandboxCredentials) {
  const denied = authorize(request, credentials) ?? (await verifySignature(request, body, credentials));
  return denied ? queryAuthError(denied) : null;
}

/** S3 (REST XML): the error code AWS answers for each failure, with its XML body. */
export function s3AuthError(failure: AuthFailure, resource: string): { status: number; code: string; xml: string } {
  const [code, message] =
    failure.reason === "unknown-key"
      ? ["InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."]
      : failure.reason === "malformed"
        ? ["AuthorizationHeaderMalformed", failure.message]
        : failure.reason === "bad-signature"
          ? ["SignatureDoesNotMatch", failure.message]
        : ["AccessDenied", failure.reason === "foreign-host" || failure.reason === "expired" ? failure.message : "Access Denied"];
  const escape = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escape(message)}</Message><Resource>${escape(resource)}</Resource><RequestId>${randomBytes(8).toString("hex").toUpperCase()}</RequestId></Error>`;
  return { status: 403, code, xml };
}

function toBytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

class NodeSha256 {
  private hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret ? createHmac("sha256", toBytes(secret)) : createHash("sha256");
  }
  update(data: string | ArrayBuffer | ArrayBufferView) {
    this.hash.update(toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset() {}
}

/**
 * Full SigV4 check of a header-signed request: re-signs the request's signed headers (and body, or
 * its signed x-amz-content-sha256) with the sandbox's secret and compares. Null when it matches.
 */
export async function verifySignature(
  request: { method?: string; url?: string; headers: IncomingHttpHeaders },
  body: Uint8Array | null,
  credentials: SandboxCredentials,
): Promise<AuthFailure | null> {
  const authorization = request.headers.authorization;
  if (typeof authorization !== "string") return verifyPresigned(request, credentials);
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(authorization);
  const amzDate = request.headers["x-amz-date"];
  if (!match || typeof amzDate !== "string" || !/^\d{8}T\d{6}Z$/.test(amzDate)) return { reason: "malformed", message: "Authorization header is not a complete SigV4 signature" };
  const [, , , region, service, signedHeaderList, signature] = match;
  const headers: Record<string, string> = {};
  for (const name of signedHeaderList!.split(";")) {
    const value = request.headers[name];
    if (value === undefined) return { reason: "bad-signature", message: `signed header ${name} is missing` };
    headers[name] = Array.isArray(value) ? value.join(",") : value;
  }
  const url = new URL(request.url ?? "/", "http://sandbox");
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    const existing = query[key];
    query[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  const signer = new SignatureV4({ credentials, region: region!, service: service!, sha256: NodeSha256, uriEscapePath: service !== "s3" });
  const signingDate = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
  const resigned = await signer.sign(
    { method: request.method ?? "GET", protocol: "http:", hostname: "sandbox", path: url.pathname, query, headers, body: body ?? undefined },
    { signingDate, signableHeaders: new Set(signedHeaderList!.split(";")), unsignableHeaders: new Set() },
  );
  const expected = /Signature=([0-9a-f]{64})$/.exec(String(resigned.headers.authorization ?? resigned.headers.Authorization ?? ""))?.[1] ?? "";
  return same(expected, signature!) ? null : { reason: "bad-signature", message: "The request signature we calculated does not match the signature you provided." };
}

/** RFC 3986 encoding, as SigV4's canonical query string wants it. */
const rfc3986 = (value: string) => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();

/**
 * A presigned (query-signed) request, as S3 checks it: the signature over the request with an
 * UNSIGNED-PAYLOAD hash, and X-Amz-Date + X-Amz-Expires not past ("Request has expired").
 * A request without query signing has nothing to check here (the key check said so already).
 */
function verifyPresigned(request: { method?: string; url?: string; headers: IncomingHttpHeaders }, credentials: SandboxCredentials): AuthFailure | null {
  const url = new URL(request.url ?? "/", "http://sandbox");
  const q = url.searchParams;
  const signature = q.get("X-Amz-Signature");
  if (signature === null) return null;
  const credential = /^([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request$/.exec(q.get("X-Amz-Credential") ?? "");
  const amzDate = q.get("X-Amz-Date") ?? "";
  const expires = Number(q.get("X-Amz-Expires"));
  const signedHeaders = q.get("X-Amz-SignedHeaders") ?? "";
  if (!credential || !/^\d{8}T\d{6}Z$/.test(amzDate) || !Number.isInteger(expires) || expires < 1 || expires > 604_800 || !/^[a-z0-9;-]+$/.test(signedHeaders) || !/^[0-9a-f]{64}$/.test(signature)) {
    return { reason: "malformed", message: "Query-string authentication requires X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders and X-Amz-Signature" };
  }
  const signedAt = Date.parse(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
  if (Date.now() > signedAt + expires * 1000) return { reason: "expired", message: "Request has expired" };
  const [, , shortDate, region, service] = credential;
  const headerLines: string[] = [];
  for (const name of signedHeaders.split(";")) {
    const value = request.headers[name];
    if (value === undefined) return { reason: "bad-signature", message: `signed header ${name} is missing` };
    headerLines.push(`${name}:${(Array.isArray(value) ? value.join(",") : value).trim().replace(/\s+/g, " ")}`);
  }
  const query = [...q.entries()]
    .filter(([key]) => key !== "X-Amz-Signature")
    .map(([key, value]) => [rfc3986(key), rfc3986(value)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join("&");
  const canonical = [request.method ?? "GET", url.pathname, query, headerLines.join("\n") + "\n", signedHeaders, "UNSIGNED-PAYLOAD"].join("\n");
  const scope = `${shortDate}/${region}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, createHash("sha256").update(canonical).digest("hex")].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, shortDate!), region!), service!), "aws4_request");
  const expected = createHmac("sha256", key).update(toSign).digest("hex");
  return same(expected, signature) ? null : { reason: "bad-signature", message: "The request signature we calculated does not match the signature you provided." };
}
