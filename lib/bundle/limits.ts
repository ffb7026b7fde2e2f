// Caps for reading archives Deckhand did not necessarily make (anything in the bucket). tar-stream
// buffers PAX / GNU long-name headers whole and gunzip expands without bound, so a tiny object could
// otherwise take all memory or time: a scanner checks each raw tar header before tar-stream sees it.
import { Transform, type TransformCallback } from "node:stream";

export interface ReadLimits {
  /** Bytes of the embedded manifest entry. */
  manifestBytes: number;
  /** Files listed in a manifest, or entries read from an archive. */
  entries: number;
  /** A PAX / GNU long-name header's data (tar-stream holds it in memory). */
  headerBytes: number;
  /** Decompressed bytes read from one archive. */
  decompressedBytes: number;
  /** Compressed object bytes read for one catalog row (a bundle made outside Deckhand is read whole). */
  objectBytes: number;
  /** Keys listed under a prefix for the bundles page. */
  listedObjects: number;
}

export const DEFAULT_LIMITS: ReadLimits = {
  manifestBytes: 8 * 1024 * 1024,
  entries: 100_000,
  headerBytes: 64 * 1024,
  decompressedBytes: 2 * 1024 * 1024 * 1024,
  objectBytes: 1024 * 1024 * 1024,
  listedObjects: 50_000,
};

export class BundleLimitError extends Error {
  name = "BundleError";
}

const HEADER_TYPES = new Set(["x", "g", "L", "K"]);

/** A tar number field: octal text, or GNU base-256 when the top bit of the first byte is set. */
function tarNumber(field: Buffer): number {
  if (field[0]! & 0x80) {
    let value = 0;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!;
    return value + (field[0]! & 0x7f) * 256 ** (field.length - 1);
  }
  const text = field.toString("latin1").replace(/\0.*$/s, "").trim();
  return text ? parseInt(text, 8) : 0;
}

/**
 * Passes decompressed tar bytes through unchanged while checking them: total bytes, entry count and
 * the size of every metadata header, each refused with a BundleLimitError naming the limit.
 */
export class TarScanner extends Transform {
  private total = 0;
  private entries = 0;
  /** Bytes of the current entry's data (and padding) still to pass before the next header. */
  private skip = 0;
  private pending: Buffer = Buffer.alloc(0);

  constructor(
    private limits: Pick<ReadLimits, "entries" | "headerBytes" | "decompressedBytes">,
    private what: string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.total += chunk.length;
    if (this.total > this.limits.decompressedBytes) {
      return callback(new BundleLimitError(`${this.what}: more than ${this.limits.decompressedBytes} bytes once decompressed; refused (a gzip bomb?)`));
    }
    let offset = 0;
    while (offset < chunk.length) {
      if (this.skip > 0) {
        const step = Math.min(this.skip, chunk.length - offset);
        this.skip -= step;
        offset += step;
        continue;
      }
      const need = 512 - this.pending.length;
      const take = chunk.subarray(offset, offset + need);
      this.pending = this.pending.length ? Buffer.concat([this.pending, take]) : Buffer.from(take);
      offset += take.length;
      if (this.pending.length < 512) break;
      const header = this.pending;
      this.pending = Buffer.alloc(0);
      if (header.every((b) => b === 0)) continue; // end-of-archive blocks
      const size = tarNumber(header.subarray(124, 136));
      const type = String.fromCharCode(header[156]!);
      if (!Number.isFinite(size) || size < 0) return callback(new BundleLimitError(`${this.what}: a tar header has an unreadable size; refused`));
      if (HEADER_TYPES.has(type) && size > this.limits.headerBytes) {
        return callback(new BundleLimitError(`${this.what}: a ${type === "x" || type === "g" ? "PAX" : "long-name"} header of ${size} bytes (limit ${this.limits.headerBytes}); refused`));
      }
      if (!HEADER_TYPES.has(type) && ++this.entries > this.limits.entries) {
        return callback(new BundleLimitError(`${this.what}: more than ${this.limits.entries} entries; refused`));
      }
      this.skip = Math.ceil(size / 512) * 512;
    }
    callback(null, chunk);
  }
}

/** Counts compressed bytes read from an object; refuses past the cap. */
export class ByteCap extends Transform {
  private total = 0;
  constructor(
    private cap: number,
    private what: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.total += chunk.length;
    if (this.total > this.cap) return callback(new BundleLimitError(`${this.what}: more than ${this.cap} bytes; too large to inspect, refused`));
    callback(null, chunk);
  }
}
