/**
 * AWS and network errors, classified in one place. AWS names its errors by code (the SDK puts the
 * code in `name`), so this is the one module that reads those codes; everything else asks it.
 */
export type AwsProblem =
  | "credentials_expired"
  | "no_credentials"
  | "credentials_rejected"
  | "access_denied"
  | "no_bucket"
  | "not_found"
  | "throttled"
  | "invalid_instance"
  | "invalid_command"
  | "invocation_missing"
  | "precondition_failed"
  | "resource_missing"
  | "unreachable"
  | "other";

const BY_CODE: Record<string, AwsProblem> = {
  ExpiredToken: "credentials_expired",
  ExpiredTokenException: "credentials_expired",
  RequestExpired: "credentials_expired",
  CredentialsProviderError: "no_credentials",
  InvalidAccessKeyId: "credentials_rejected",
  UnrecognizedClientException: "credentials_rejected",
  SignatureDoesNotMatch: "credentials_rejected",
  InvalidSignatureException: "credentials_rejected",
  InvalidClientTokenId: "credentials_rejected",
  MissingAuthenticationToken: "credentials_rejected",
  AccessDenied: "access_denied",
  AccessDeniedException: "access_denied",
  Forbidden: "access_denied",
  NoSuchBucket: "no_bucket",
  NoSuchKey: "not_found",
  NotFound: "not_found",
  ThrottlingException: "throttled",
  Throttling: "throttled",
  SlowDown: "throttled",
  TooManyRequestsException: "throttled",
  InvalidInstanceId: "invalid_instance",
  InvalidCommandId: "invalid_command",
  InvocationDoesNotExist: "invocation_missing",
  PreconditionFailed: "precondition_failed",
  ResourceNotFoundException: "resource_missing",
};

const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "ETIMEDOUT", "ECONNRESET", "EAI_AGAIN", "EHOSTUNREACH"]);

interface ErrorShape {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: { code?: string };
}

export function awsProblem(error: unknown): AwsProblem {
  const e = (error ?? {}) as ErrorShape;
  const name = e.name ?? e.Code ?? "";
  if (BY_CODE[name]) return BY_CODE[name];
  if (UNREACHABLE_CODES.has(e.code ?? e.cause?.code ?? "") || name === "TimeoutError") return "unreachable";
  const status = e.$metadata?.httpStatusCode;
  if (status === 404) return "not_found";
  if (status === 412) return "precondition_failed";
  // S3 answers a bare 403 (no code on HEAD): missing permission, or a missing key without s3:ListBucket.
  if (status === 403) return "access_denied";
  return "other";
}

/** Errors that retrying will not cure: the operator has to fix credentials or permissions first. */
export function isLastingAwsError(error: unknown): boolean {
  return ["credentials_expired", "no_credentials", "credentials_rejected", "access_denied"].includes(awsProblem(error));
}

export const isThrottling = (error: unknown) => awsProblem(error) === "throttled";
export const isNotFound = (error: unknown) => awsProblem(error) === "not_found";
/** A CloudWatch log group or stream that does not exist (yet). */
export const isMissingResource = (error: unknown) => awsProblem(error) === "resource_missing";

/** Turns SDK and network errors into sentences an operator can act on. */
export function describeAwsError(error: unknown, context = ""): string {
  const e = (error ?? {}) as ErrorShape;
  const where = context ? `${context}: ` : "";
  const detail = e.message ? ` (${e.message})` : "";
  switch (awsProblem(error)) {
    case "credentials_expired":
      return `${where}your AWS credentials have expired. Refresh them (for SSO: aws sso login --profile <profile>) and try again.`;
    case "no_credentials":
      return `${where}no AWS credentials were found. Set AWS_PROFILE (or run aws sso login) before starting Deckhand.${detail}`;
    case "credentials_rejected":
      return `${where}AWS rejected the credentials (wrong key, wrong profile or clock skew).${detail}`;
    case "access_denied":
      return `${where}AWS denied access: the credentials lack the permission for this call.${detail}`;
    case "no_bucket":
      return `${where}the deploy bucket does not exist or is in another account or region.${detail}`;
    case "not_found":
      return `${where}that object is not in the bucket (it may have expired under the retention rule).`;
    case "throttled":
      return `${where}AWS is throttling requests (rate exceeded) even after retries with backoff. Deckhand will keep polling more slowly.`;
    case "invalid_instance":
      return `${where}SSM does not accept these instance ids: wrong id, wrong region, or the SSM agent on the host is not registered/online.${detail}`;
    case "invalid_command":
      return `${where}SSM does not know this command id (wrong region, or older than SSM keeps).${detail}`;
    case "invocation_missing":
      return `${where}SSM has not registered the command on this host yet.`;
    case "precondition_failed":
      return `${where}the object changed or already exists (a conditional write was refused).${detail}`;
    case "resource_missing":
      return `${where}the log group or stream does not exist (yet).${detail}`;
    case "unreachable":
      return `${where}cannot reach the AWS endpoint (${e.code ?? e.cause?.code ?? e.name}). Check the network, the region, or that the sandbox is running.`;
    case "other":
      return `${where}${e.name && e.name !== "Error" ? `${e.name}: ` : ""}${e.message ?? String(error)}`;
  }
}
