// Skip what is already there: a bundle whose content (packBundle's contentSha256) is already in the
// bucket need not be uploaded again. At upload the bundle carries a `content-sha256` metadata key,
// and a tiny pointer object at a content-addressed key names it, so the lookup is one HEAD of the
// pointer plus one HEAD of the bundle — no listing, whatever the bucket holds.
//
// The bucket's word is only a hint: anyone with write access can forge a pointer or metadata. The
// caller reuses a candidate only when its key and tarball sha256 match what Deckhand's own
// history recorded at pack time, and the host script pins that recorded sha256.
import { HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";

export const CONTENT_METADATA_KEY = "content-sha256";
const SHA256 = /^[0-9a-f]{64}$/;

/** The pointer's key: under the environment's prefix (so its lifecycle rule expires it with the bundles), never a .tar.gz. */
export function contentPointerKey(prefix: string, contentSha256: string): string {
  if (!SHA256.test(contentSha256)) throw new Error(`content hash must be 64 hex characters, got "${contentSha256.slice(0, 80)}"`);
  return `${prefix}.deckhand/content/${contentSha256}`;
}

export interface RecordContentRequest {
  bucket: string;
  prefix: string;
  contentSha256: string;
  key: string;
  /** The tarball's sha256 (of the compressed bytes), as recorded at pack time. */
  sha256: string;
}

/** Writes the pointer once the bundle is uploaded and its sha256 known (after addObjectMetadata). */
export async function recordBundleContent(s3: S3Client, request: RecordContentRequest): Promise<void> {
  if (!SHA256.test(request.sha256)) throw new Error("sha256 must be 64 hex characters");
  await s3.send(
    new PutObjectCommand({
      Bucket: request.bucket,
      Key: contentPointerKey(request.prefix, request.contentSha256),
      Body: new Uint8Array(0),
      ContentLength: 0,
      ContentType: "application/octet-stream",
      Metadata: { "bundle-key": request.key, sha256: request.sha256, [CONTENT_METADATA_KEY]: request.contentSha256 },
    }),
  );
}

export interface FindByContentRequest {
  bucket: string;
  prefix: string;
  contentSha256: string;
  /** Skip a bundle older than this (e.g. close to the lifecycle expiry, so a later rollback still finds it). */
  maxAgeMs?: number;
  now?: Date;
}

export interface ReusableBundle {
  key: string;
  /** The tarball sha256 the bucket claims: compare with history before use. */
  sha256: string;
  size: number;
  lastModified: Date;
}

const isNotFound = (error: unknown) => {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === "NotFound" || e?.name === "NoSuchKey" || e?.$metadata?.httpStatusCode === 404;
};

/**
 * A bundle in the bucket with exactly this content, or null. Checks that the pointer and the
 * bundle agree (same content hash, same tarball sha256, a key under the prefix ending .tar.gz)
 * and that the bundle still exists; anything malformed or missing is simply "not found".
 */
export async function findBundleByContent(s3: S3Client, request: FindByContentRequest): Promise<ReusableBundle | null> {
  const pointerKey = contentPointerKey(request.prefix, request.contentSha256);
  let pointer: Record<string, string>;
  try {
    pointer = (await s3.send(new HeadObjectCommand({ Bucket: request.bucket, Key: pointerKey }))).Metadata ?? {};
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
  const key = pointer["bundle-key"] ?? "";
  const sha256 = pointer.sha256 ?? "";
  if (
    pointer[CONTENT_METADATA_KEY] !== request.contentSha256 ||
    !SHA256.test(sha256) ||
    key.length > 1024 ||
    !key.startsWith(request.prefix) ||
    !key.endsWith(".tar.gz") ||
    key.split("/").includes("..")
  ) {
    return null;
  }
  let head;
  try {
    head = await s3.send(new HeadObjectCommand({ Bucket: request.bucket, Key: key }));
  } catch (error) {
    if (isNotFound(error)) return null; // expired or deleted: upload again
    throw error;
  }
  const metadata = head.Metadata ?? {};
  if (metadata[CONTENT_METADATA_KEY] !== request.contentSha256 || metadata.sha256 !== sha256) return null;
  const lastModified = head.LastModified ?? new Date(0);
  if (request.maxAgeMs !== undefined && (request.now ?? new Date()).getTime() - lastModified.getTime() > request.maxAgeMs) return null;
  return { key, sha256, size: head.ContentLength ?? 0, lastModified };
}
