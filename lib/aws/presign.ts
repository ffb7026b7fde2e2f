import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";

/** Long enough for SSM to deliver and the host to start the download; short enough to be worthless soon after. */
export const DEFAULT_PRESIGN_SECONDS = 15 * 60;
/** SigV4 query signatures are valid for at most 7 days; a deploy URL should never come near that. */
const MAX_PRESIGN_SECONDS = 60 * 60;

/**
 * A short-lived GetObject URL for the bundle, for hosts without the AWS CLI. It is a bearer
 * credential: pass it only into the host script, never log it, and drop it from the stored script
 * when the deploy ends (lib/remote/preflight.ts `redactPresignedUrls`).
 * With temporary credentials (SSO, an assumed role) the URL dies with the session, whichever comes first.
 */
export async function presignBundleUrl(s3: S3Client, bucket: string, key: string, expiresInSeconds = DEFAULT_PRESIGN_SECONDS): Promise<string> {
  if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 60 || expiresInSeconds > MAX_PRESIGN_SECONDS) {
    throw new Error(`A pre-signed bundle URL lives between 60 and ${MAX_PRESIGN_SECONDS} seconds (asked for ${expiresInSeconds}).`);
  }
  return getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: expiresInSeconds });
}
