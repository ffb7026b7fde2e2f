// Request authentication for every sandbox endpoint. The sandbox runs scripts as root on its hosts,
// so it must not answer a request that was not signed with the credentials it printed at start:
// each server's request entry calls `authorize` first and answers with AWS's own error when it fails.
import { randomBytes, timingSafeEqual } from "node:crypto";
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

export type AuthFailure = { reason: "missing" | "malformed" | "unknown-key" | "foreign-host"; message: string };

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
  }
}

/** S3 (REST XML): the error code AWS answers for each failure, with its XML body. */
export function s3AuthError(failure: AuthFailure, resource: string): { status: number; code: string; xml: string } {
  const [code, message] =
    failure.reason === "unknown-key"
      ? ["InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."]
      : failure.reason === "malformed"
        ? ["AuthorizationHeaderMalformed", failure.message]
        : ["AccessDenied", failure.reason === "foreign-host" ? failure.message : "Access Denied"];
  const escape = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escape(message)}</Message><Resource>${escape(resource)}</Resource><RequestId>${randomBytes(8).toString("hex").toUpperCase()}</RequestId></Error>`;
  return { status: 403, code, xml };
}
