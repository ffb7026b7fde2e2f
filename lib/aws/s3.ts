import {
  AbortMultipartUploadCommand,
  ChecksumAlgorithm,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from "@aws-sdk/client-s3";
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
 * 5 MiB parts (S3's minimum; 10,000 parts still allow 48 GiB), two in flight while the next one
 * fills: the upload overlaps compression, and memory is three fixed part buffers.
 */
export const UPLOAD_PART_SIZE = 5 * 1024 * 1024;
export const UPLOAD_QUEUE_SIZE = 2;
const MAX_PARTS = 10_000;

/**
 * Multipart upload straight from the packer's stream, written out rather than lib-storage's
 * `Upload`: that one copies each part out of the stream's chunks (and concatenates them again),
 * so a 2 GB pack+upload held ~4 live 5 MiB parts plus their garbage. Here each part is copied
 * once into one of UPLOAD_QUEUE_SIZE + 1 reused buffers and sent from there.
 * A body shorter than one part is a single PutObject. On any failure the multipart upload is
 * aborted (after its parts in flight have settled), so no orphaned parts are billed.
 * `If-None-Match: *` goes with the completion (or the PutObject): a key another panel took
 * meanwhile is never overwritten (S3 answers 412). Returns the object's ETag.
 */
export async function uploadBundle(s3: S3Client, request: UploadRequest): Promise<string | undefined> {
  const { bucket: Bucket, key: Key, body } = request;
  const free: Buffer[] = [];
  const inFlight = new Set<Promise<void>>();
  const parts: CompletedPart[] = [];
  let uploadId: string | undefined;
  let checksum: ChecksumAlgorithm | undefined;
  let sent = 0;
  let failure: unknown = null;

  const sendPart = (buffer: Buffer, length: number, PartNumber: number) => {
    const task: Promise<void> = (async () => {
      try {
        const result = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId: uploadId, PartNumber, Body: buffer.subarray(0, length), ContentLength: length, ...(checksum ? { ChecksumAlgorithm: checksum } : {}) }));
        if (!result.ETag) throw new Error(`S3 returned no ETag for part ${PartNumber} of ${Key}`);
        parts.push({
          PartNumber,
          ETag: result.ETag,
          ...(result.ChecksumCRC32 ? { ChecksumCRC32: result.ChecksumCRC32 } : {}),
          ...(result.ChecksumCRC32C ? { ChecksumCRC32C: result.ChecksumCRC32C } : {}),
          ...(result.ChecksumSHA1 ? { ChecksumSHA1: result.ChecksumSHA1 } : {}),
          ...(result.ChecksumSHA256 ? { ChecksumSHA256: result.ChecksumSHA256 } : {}),
        });
        sent += length;
        request.onProgress?.(sent);
      } catch (error) {
        failure ??= error;
      } finally {
        free.push(buffer);
      }
    })();
    inFlight.add(task);
    void task.then(() => inFlight.delete(task));
  };

  try {
    let part: Buffer = Buffer.allocUnsafeSlow(UPLOAD_PART_SIZE);
    let filled = 0;
    let partNumber = 0;
    const flush = async () => {
      if (partNumber === 0) {
        const checksumWanted = (await s3.config.requestChecksumCalculation()) === "WHEN_SUPPORTED";
        checksum = checksumWanted ? ChecksumAlgorithm.CRC32 : undefined;
        const created = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key, ContentType: "application/gzip", Metadata: request.metadata, ...(checksum ? { ChecksumAlgorithm: checksum } : {}) }));
        uploadId = created.UploadId;
        if (!uploadId) throw new Error(`S3 returned no UploadId for ${Key}`);
      }
      if (++partNumber > MAX_PARTS) throw new Error(`the bundle needs more than ${MAX_PARTS} parts of ${UPLOAD_PART_SIZE} bytes`);
      sendPart(part, filled, partNumber);
      while (inFlight.size >= UPLOAD_QUEUE_SIZE && !failure) await Promise.race(inFlight);
      if (failure) throw failure;
      part = free.pop() ?? Buffer.allocUnsafeSlow(UPLOAD_PART_SIZE);
      filled = 0;
    };
    for await (const data of body as AsyncIterable<Buffer | Uint8Array | string>) {
      const chunk = Buffer.isBuffer(data) ? data : Buffer.from(data);
      for (let at = 0; at < chunk.length; ) {
        const take = Math.min(chunk.length - at, UPLOAD_PART_SIZE - filled);
        chunk.copy(part, filled, at, at + take);
        filled += take;
        at += take;
        if (filled === UPLOAD_PART_SIZE) await flush();
      }
    }
    if (partNumber === 0) {
      const put = await s3.send(new PutObjectCommand({ Bucket, Key, Body: part.subarray(0, filled), ContentLength: filled, ContentType: "application/gzip", Metadata: request.metadata, IfNoneMatch: "*" }));
      request.onProgress?.(filled);
      return put.ETag;
    }
    if (filled > 0) await flush();
    await Promise.all(inFlight);
    if (failure) throw failure;
    parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
    const completed = await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: parts }, IfNoneMatch: "*" }));
    uploadId = undefined; // nothing left to abort
    return completed.ETag;
  } catch (error) {
    // Nobody reads the body any more: destroying it stops its producer (the packer) at once.
    if (!body.destroyed) body.destroy(error as Error);
    await Promise.allSettled(inFlight);
    if (uploadId) await s3.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId })).catch((abortError) => {
      if (error instanceof Error && error.cause === undefined) error.cause = abortError;
    });
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
