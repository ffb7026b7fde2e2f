import { CopyObjectCommand, HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import type { Readable } from "node:stream";

export interface UploadRequest {
  bucket: string;
  key: string;
  body: Readable;
  metadata: Record<string, string>;
  onProgress?: (bytesSent: number) => void;
}

/**
 * Multipart upload straight from the packer's stream: parts of 8 MiB, four in flight, so memory
 * stays bounded whatever the bundle size. On any failure lib-storage aborts the multipart upload
 * (leavePartsOnError false), so no orphaned parts are billed.
 */
export async function uploadBundle(s3: S3Client, request: UploadRequest): Promise<void> {
  const upload = new Upload({
    client: s3,
    params: { Bucket: request.bucket, Key: request.key, Body: request.body, ContentType: "application/gzip", Metadata: request.metadata },
    partSize: 8 * 1024 * 1024,
    queueSize: 4,
    leavePartsOnError: false,
  });
  upload.on("httpUploadProgress", (progress) => {
    if (progress.loaded !== undefined) request.onProgress?.(progress.loaded);
  });
  try {
    await upload.done();
  } catch (error) {
    // Nobody reads the body any more: destroying it lets its producer (the packer's worker threads) stop.
    if (!request.body.destroyed) request.body.destroy(error as Error);
    throw error;
  }
}

/**
 * The tarball's sha256 is only known once the stream has been read to the end, after the upload
 * started; a server-side copy onto itself adds it to the object's metadata without re-uploading.
 */
export async function addObjectMetadata(s3: S3Client, bucket: string, key: string, extra: Record<string, string>): Promise<void> {
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  await s3.send(
    new CopyObjectCommand({
      Bucket: bucket,
      Key: key,
      CopySource: `${bucket}/${encodeURIComponent(key).replace(/%2F/g, "/")}`,
      MetadataDirective: "REPLACE",
      ContentType: head.ContentType ?? "application/gzip",
      Metadata: { ...(head.Metadata ?? {}), ...extra },
    }),
  );
}

export async function headBundle(s3: S3Client, bucket: string, key: string) {
  return s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
}
