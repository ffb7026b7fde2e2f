import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { S3Client } from "@aws-sdk/client-s3";
import type { SSMClient } from "@aws-sdk/client-ssm";
import type { STSClient } from "@aws-sdk/client-sts";

/** One line of the setup check: green or red, what was found, and (when red) what to do, in plain words. */
export interface CheckLine {
  name: string;
  ok: boolean;
  detail: string;
  /** Empty when ok. */
  fix: string;
}

export interface SetupClients {
  s3: S3Client;
  ssm: SSMClient;
  logs: CloudWatchLogsClient;
  sts: STSClient;
}

export const pass = (name: string, detail: string): CheckLine => ({ name, ok: true, detail, fix: "" });
export const fail = (name: string, detail: string, fix: string): CheckLine => ({ name, ok: false, detail, fix });

export function errorName(error: unknown): string {
  return (error as { name?: string })?.name ?? "Error";
}

export function isDenied(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return ["AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Forbidden"].includes(e?.name ?? "") || e?.$metadata?.httpStatusCode === 403;
}
