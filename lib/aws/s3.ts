import { CopyObjectCommand, HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import type { Readable } from "node:stream";
import { awsProblem } from "./errors";

export interface UploadRequest {
  bucket: string;
  key: string;
  body: Readable;
  metadata: Record<string, string>;
  onProgress?: (bytesSent: number) => void;
}

/**
 * lib-storage holds every part in flight plus the one it is filling (and a concat copy of it):
 * 5 MiB parts (S3's minimum; 10,000 parts still allow 48 GiB), two in flight, keep that near
 * 20 MiB while the upload still overlaps compression.
 */
export const UPLOAD_PART_SIZE = 5 * 1024 * 1024;
export const UPLOAD_QUEUE_SIZE = 2;

/**
 * Multipart upload straight from the packer's stream: parts of 5 MiB, two in flight, so memory
 * stays bounded whatever the bundle size. On any failure lib-storage aborts the multipart upload
 * (leavePartsOnError false), so no orphaned parts are billed. `If-None-Match: *` goes with the
 * completion: a key another panel took meanwhile is never overwritten (S3 answers 412).
 * Returns the object's ETag.
 */
export async function uploadBundle(s3: S3Client, request: UploadRequest): Promise<string | undefined> {
  const upload = new Upload({
    client: s3,
    params: { Bucket: request.bucket, Key: request.key, Body: request.body, ContentType: "application/gzip", Metadata: request.metadata, IfNoneMatch: "*" },
    partSize: UPLOAD_PART_SIZE,
    queueSize: UPLOAD_QUEUE_SIZE,
    leavePartsOnError: false,
  });
  upload.on("httpUploadProgress", (progress) => {
    if (progress.loaded !== undefined) request.onProgress?.(progress.loaded);
  });
  try {
    return (await upload.done()).ETag;
  } catch (error) {
    // Nobody reads the body any more: destroying it stops its producer (the packer) at once.
    if (!request.body.destroyed) request.body.destroy(error as Error);
    throw error;
  }
}

/**
 * The tarball's sha256 is only known once the stream has been read to the end, after the upload
 * started; a server-side copy onto itself adds it to the object's metadata without re-uploading.
 */
export async function addObjectMetadata(s3: S3Client, bucket: string, key: string, extra: Record<string, string>, etag?: string): Promise<void> {
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...(etag ? { IfMatch: etag } : {}) }));
  await s3.send(
    new CopyObjectCommand({
      Bucket: bucket,
      Key: key,
      CopySource: `${bucket}/${encodeURIComponent(key).replace(/%2F/g, "/")}`,
      // Only our own upload gets the metadata: if the key no longer holds it, the copy is refused.
      ...(etag ? { CopySourceIfMatch: etag } : {}),
      MetadataDirective: "REPLACE",
      ContentType: head.ContentType ?? "application/gzip",
      Metadata: { ...(head.Metadata ?? {}), ...extra },
    }),
  );
}

export async function headBundle(s3: S3Client, bucket: string, key: string) {
  return s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
}

/** Whether a key holds an object now (a 404 is "no"; anything else is an error worth seeing). */
export async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await headBundle(s3, bucket, key);
    return true;
  } catch (error) {
    if (awsProblem(error) === "not_found") return false;
    throw error;
  }
}
