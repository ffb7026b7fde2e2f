import { GetBucketLifecycleConfigurationCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import tarStream from "tar-stream";
import { BundleLimitError, ByteCap, DEFAULT_LIMITS, TarScanner, type ReadLimits } from "./limits";
import { MANIFEST_PATH, parseManifest, type BundleManifest } from "./manifest";
import { parseBundleKey } from "./naming";

export interface BundleObject {
  key: string;
  size: number;
  lastModified: Date;
  /** From the key name (`<namePrefix><label>_<stamp>.tar.gz`), when it follows the runbooks' naming. */
  label: string | null;
  /** The unix stamp in the key, 0 when the key does not follow the naming. */
  stamp: number;
}

/**
 * The .tar.gz objects under the prefix, one ListObjectsV2 page (at most 1,000 keys, key order) at a
 * time: a caller that needs only some stops early and never holds the whole listing.
 */
export async function* listBundlePages(s3: S3Client, bucket: string, prefix: string, namePrefix: string): AsyncGenerator<BundleObject[]> {
  let continuationToken: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: continuationToken }));
    const rows: BundleObject[] = [];
    for (const object of page.Contents ?? []) {
      if (!object.Key?.endsWith(".tar.gz")) continue;
      const parsed = parseBundleKey(object.Key, namePrefix);
      rows.push({ key: object.Key, size: object.Size ?? 0, lastModified: object.LastModified ?? new Date(0), label: parsed?.label ?? null, stamp: parsed?.stamp ?? 0 });
    }
    yield rows;
    continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (continuationToken);
}

/**
 * Every .tar.gz under the prefix, newest first. S3 lists in key order, so sorting by time needs
 * every page; the rows kept are small and capped (`limits.listedObjects`), never the raw pages.
 */
export async function listBundleObjects(s3: S3Client, bucket: string, prefix: string, namePrefix: string, limits: Pick<ReadLimits, "listedObjects"> = DEFAULT_LIMITS): Promise<BundleObject[]> {
  const bundles: BundleObject[] = [];
  for await (const rows of listBundlePages(s3, bucket, prefix, namePrefix)) {
    bundles.push(...rows);
    if (bundles.length > limits.listedObjects) {
      throw new BundleLimitError(`s3://${bucket}/${prefix} holds more than ${limits.listedObjects} bundles: too many to list; use a lifecycle rule or a narrower prefix`);
    }
  }
  // Uploads within the same second tie on LastModified: the stamp in the key breaks the tie.
  return bundles.sort((a, b) => b.lastModified.getTime() - a.lastModified.getTime() || b.stamp - a.stamp || b.key.localeCompare(a.key));
}

export interface LifecycleInfo {
  /** Days after which a rule expires objects under the prefix, or null when no rule does. */
  expirationDays: number | null;
  ruleId: string | null;
  /** Set when the rule could not be read (permissions, or an S3 that does not implement it). */
  unreadable: string | null;
}

export async function readLifecycle(s3: S3Client, bucket: string, prefix: string): Promise<LifecycleInfo> {
  try {
    const result = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
    for (const rule of result.Rules ?? []) {
      const rulePrefix = rule.Filter?.Prefix ?? rule.Filter?.And?.Prefix ?? rule.Prefix ?? "";
      if (rule.Status === "Enabled" && prefix.startsWith(rulePrefix) && rule.Expiration?.Days) {
        return { expirationDays: rule.Expiration.Days, ruleId: rule.ID ?? null, unreadable: null };
      }
    }
    return { expirationDays: null, ruleId: null, unreadable: null };
  } catch (error) {
    const name = (error as { name?: string }).name ?? "";
    if (name === "NoSuchLifecycleConfiguration") return { expirationDays: null, ruleId: null, unreadable: null };
    return { expirationDays: null, ruleId: null, unreadable: `${name || "error"}: ${(error as Error).message}` };
  }
}

export interface ReadManifestResult {
  manifest: BundleManifest;
  /** False for bundles made outside Deckhand: the manifest was rebuilt by reading every file. */
  embedded: boolean;
  /** sha256 of the whole object, known only when the whole object was read. */
  sha256: string | null;
  /** sha256 of the embedded manifest's bytes: what a host that extracted this bundle last has in .deckhand/manifest.json. */
  manifestSha256?: string | null;
}

/**
 * The manifest of a bundle in S3. A Deckhand bundle carries it as its first entry, so only the
 * first few kilobytes are read; a bundle made by hand (`tar czf`) is read through once and its
 * file list, sizes and hashes are rebuilt from the archive.
 */
export async function readBundleManifest(s3: S3Client, bucket: string, key: string, fallbackLabel: string | null, limits: ReadLimits = DEFAULT_LIMITS): Promise<ReadManifestResult> {
  const what = `s3://${bucket}/${key}`;
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const body = object.Body as Readable;
  const wholeHash = createHash("sha256");
  body.on("data", (chunk: Buffer) => wholeHash.update(chunk));
  const extract = tarStream.extract();
  const files: BundleManifest["files"] = [];
  let embedded: BundleManifest | null = null;
  let manifestSha256: string | null = null;
  let first = true;

  const done = new Promise<void>((resolve, reject) => {
    extract.on("entry", (header, stream, next) => {
      const name = header.name.replace(/^\.\//, "");
      const isFirst = first;
      first = false;
      // A torn-down read destroys the entry too; its error is the extract's, reported once via `done`.
      stream.on("error", () => {});
      if (isFirst && name === MANIFEST_PATH) {
        if ((header.size ?? 0) > limits.manifestBytes) {
          reject(new BundleLimitError(`${what}: its manifest claims ${header.size} bytes (limit ${limits.manifestBytes}); refused`));
          return;
        }
        const chunks: Buffer[] = [];
        stream.on("data", (c: unknown) => void chunks.push(c as Buffer));
        stream.on("end", () => {
          try {
            const bytes = Buffer.concat(chunks);
            embedded = parseManifest(bytes.toString("utf8"), limits);
            manifestSha256 = createHash("sha256").update(bytes).digest("hex");
            resolve(); // everything else is in the manifest: stop reading here
          } catch (error) {
            reject(error);
          }
        });
        return;
      }
      if (header.type === "file") {
        const hash = createHash("sha256");
        stream.on("data", (c: unknown) => void hash.update(c as Buffer));
        stream.on("end", () => {
          files.push({ path: name, size: header.size ?? 0, sha256: hash.digest("hex") });
          next();
        });
      } else {
        if (header.type === "symlink") files.push({ path: name, size: 0, sha256: "", linkTarget: header.linkname ?? "" });
        stream.on("end", next);
        stream.resume();
      }
    });
    extract.on("finish", resolve);
    extract.on("error", reject);
    body.on("error", reject);
  });
  // object bytes → cap → gunzip → header/entry/decompressed caps → tar-stream
  // pipeline() tears every stage down on any error; stopping early (manifest found) ends it too.
  pipeline(body, new ByteCap(limits.objectBytes, what), createGunzip(), new TarScanner(limits, what), extract).catch((error: Error) => extract.destroy(error));
  try {
    await done;
  } finally {
    body.destroy();
  }
  if (embedded) return { manifest: embedded, embedded: true, sha256: null, manifestSha256 };
  const paths = [...new Set(files.map((f) => f.path.split("/").slice(0, 2).join("/")))].sort();
  return {
    embedded: false,
    sha256: wholeHash.digest("hex"),
    manifest: {
      format: 1,
      label: fallbackLabel ?? "unknown",
      services: [],
      paths,
      replace: [],
      files: files.sort((a, b) => a.path.localeCompare(b.path)),
      git: null,
      createdAt: object.LastModified?.toISOString() ?? new Date(0).toISOString(),
      createdBy: "outside Deckhand",
      deckhandVersion: "",
    },
  };
}

/** sha256 of an object, read through once (for bundles whose metadata does not carry it). */
export async function hashObject(s3: S3Client, bucket: string, key: string): Promise<string> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash("sha256");
  for await (const chunk of object.Body as Readable) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
