import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { S3Client } from "@aws-sdk/client-s3";
import { SSMClient } from "@aws-sdk/client-ssm";
import { STSClient } from "@aws-sdk/client-sts";

export interface AwsClients {
  s3: S3Client;
  ssm: SSMClient;
  logs: CloudWatchLogsClient;
  /** Who this laptop is to AWS (GetCallerIdentity), for the bucket lock's owner. */
  sts: STSClient;
}

/**
 * SSM retries per request (standard mode), not "adaptive": adaptive's client-side rate limiter slows
 * every call of the client after one throttled call, so one host's throttled result read held back
 * every other host's. The watcher backs off its own polling on throttling instead.
 */
export const SSM_RETRY = { retryMode: "standard", maxAttempts: 4 } as const;

/**
 * The only place AWS clients are made. Credentials come from the SDK's default chain (env, profile,
 * SSO) and are never read or stored by Deckhand; endpoints come from the standard
 * AWS_ENDPOINT_URL_* variables, which is how the sandbox (or LocalStack, MinIO…) is reached.
 */
export function makeAwsClients(region: string): AwsClients {
  const customS3Endpoint = Boolean(process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL);
  return {
    // A custom S3 endpoint on localhost cannot do virtual-hosted buckets.
    s3: new S3Client({ region, forcePathStyle: customS3Endpoint }),
    ssm: new SSMClient({ region, ...SSM_RETRY }),
    logs: new CloudWatchLogsClient({ region, retryMode: "adaptive", maxAttempts: 6 }),
    sts: new STSClient({ region, maxAttempts: 3 }),
  };
}

/** ELBv2 for target health; only environments with a targetGroupArn need it (AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2 for the sandbox). */
export function makeElbClient(region: string): ElasticLoadBalancingV2Client {
  return new ElasticLoadBalancingV2Client({ region, retryMode: "adaptive", maxAttempts: 4 });
}
