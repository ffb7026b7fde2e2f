/** Turns SDK and network errors into sentences an operator can act on. */
export function describeAwsError(error: unknown, context = ""): string {
  const e = error as { name?: string; Code?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number }; cause?: { code?: string } };
  const name = e?.name ?? e?.Code ?? "";
  const code = e?.code ?? e?.cause?.code ?? "";
  const where = context ? `${context}: ` : "";
  const detail = e?.message ? ` (${e.message})` : "";
  switch (name) {
    case "ExpiredToken":
    case "ExpiredTokenException":
    case "RequestExpired":
      return `${where}your AWS credentials have expired. Refresh them (for SSO: aws sso login --profile <profile>) and try again.`;
    case "CredentialsProviderError":
      return `${where}no AWS credentials were found. Set AWS_PROFILE (or run aws sso login) before starting Deckhand.${detail}`;
    case "InvalidAccessKeyId":
    case "UnrecognizedClientException":
    case "SignatureDoesNotMatch":
    case "InvalidSignatureException":
      return `${where}AWS rejected the credentials (wrong key, wrong profile or clock skew).${detail}`;
    case "AccessDenied":
    case "AccessDeniedException":
      return `${where}AWS denied access: the credentials lack the permission for this call.${detail}`;
    case "NoSuchBucket":
      return `${where}the deploy bucket does not exist or is in another account or region.${detail}`;
    case "NoSuchKey":
    case "NotFound":
      return `${where}that object is not in the bucket (it may have expired under the retention rule).`;
    case "ThrottlingException":
    case "Throttling":
    case "SlowDown":
    case "TooManyRequestsException":
      return `${where}AWS is throttling requests (rate exceeded) even after retries with backoff. Deckhand will keep polling more slowly.`;
    case "InvalidInstanceId":
      return `${where}SSM does not accept these instance ids: wrong id, wrong region, or the SSM agent on the host is not registered/online.${detail}`;
    case "InvalidCommandId":
      return `${where}SSM does not know this command id (wrong region, or older than SSM keeps).${detail}`;
    case "InvocationDoesNotExist":
      return `${where}SSM has not registered the command on this host yet.`;
  }
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "ETIMEDOUT" || code === "ECONNRESET" || name === "TimeoutError") {
    return `${where}cannot reach the AWS endpoint (${code || name}). Check the network, the region, or that the sandbox is running.`;
  }
  return `${where}${name ? `${name}: ` : ""}${e?.message ?? String(error)}`;
}

export function isThrottling(error: unknown): boolean {
  const name = (error as { name?: string })?.name ?? "";
  return ["ThrottlingException", "Throttling", "TooManyRequestsException", "SlowDown"].includes(name);
}
