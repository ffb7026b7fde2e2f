// Minimal POSIX tar (ustar + pax) header writer: the packer writes entries itself so it knows
// where each file's bytes lie in the stream (it stores already-compressed files without deflating).

export const BLOCK = 512;
const encoder = new TextEncoder();

export interface TarEntry {
  name: string;
  type: "file" | "symlink";
  size: number;
  mode: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkname?: string;
}

function writeString(block: Buffer, offset: number, length: number, value: string): void {
  const bytes = encoder.encode(value);
  if (bytes.length > length) throw new Error(`tar field too long: ${value}`);
  block.set(bytes, offset);
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  // length-1 octal digits then NUL, as GNU tar and bsdtar write them
  const digits = Math.trunc(value).toString(8);
  if (digits.length > length - 1) throw new Error(`tar numeric field overflow: ${value}`);
  block.write(digits.padStart(length - 1, "0"), offset, "ascii");
}

/** ustar splits a long path into prefix (≤155 bytes) and name (≤100 bytes) at a slash; null when it cannot. */
function splitUstar(name: string): { prefix: string; name: string } | null {
  if (Buffer.byteLength(name) <= 100) return { prefix: "", name };
  for (let i = name.indexOf("/"); i !== -1; i = name.indexOf("/", i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest.length > 0) return { prefix, name: rest };
  }
  return null;
}

function ustarHeader(fields: { name: string; prefix: string; type: string; size: number; mode: number; mtime: number; linkname: string }): Buffer {
  const block = Buffer.alloc(BLOCK);
  writeString(block, 0, 100, fields.name);
  writeOctal(block, 100, 8, fields.mode);
  writeOctal(block, 108, 8, 0); // uid: ownership is set on the host (chown), never taken from the archive
  writeOctal(block, 116, 8, 0); // gid
  writeOctal(block, 124, 12, fields.size);
  writeOctal(block, 136, 12, fields.mtime);
  block.fill(0x20, 148, 156); // checksum computed with its own field as spaces
  block.write(fields.type, 156, "ascii");
  writeString(block, 157, 100, fields.linkname);
  block.write("ustar\u000000", 257, "binary");
  writeString(block, 345, 155, fields.prefix);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += block[i];
  block.write(sum.toString(8).padStart(6, "0") + "\u0000 ", 148, "binary");
  return block;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body);
  // the length counts its own digits: settle it by iteration (at most two steps)
  let length = bodyLength + 1;
  while (String(length).length + bodyLength !== length) length = String(length).length + bodyLength;
  return `${length}${body}`;
}

/** The header block(s) of one entry: a pax extended header first when a field does not fit ustar. */
export function entryHeader(entry: TarEntry): Buffer {
  const type = entry.type === "symlink" ? "2" : "0";
  const size = entry.type === "symlink" ? 0 : entry.size;
  const linkname = entry.linkname ?? "";
  const split = splitUstar(entry.name);
  const records: string[] = [];
  if (!split) records.push(paxRecord("path", entry.name));
  if (Buffer.byteLength(linkname) > 100) records.push(paxRecord("linkpath", linkname));
  if (size > 0o77777777777) records.push(paxRecord("size", String(size)));
  const main = ustarHeader({
    name: split ? split.name : "pax-long-name", // readers take the pax path
    prefix: split ? split.prefix : "",
    type,
    size: size > 0o77777777777 ? 0 : size,
    mode: entry.mode,
    mtime: Math.max(0, Math.floor(entry.mtime)),
    linkname: Buffer.byteLength(linkname) > 100 ? "" : linkname,
  });
  if (records.length === 0) return main;
  const data = Buffer.from(records.join(""));
  const pax = ustarHeader({ name: "PaxHeader", prefix: "", type: "x", size: data.length, mode: 0o644, mtime: Math.max(0, Math.floor(entry.mtime)), linkname: "" });
  return Buffer.concat([pax, data, padding(data.length), main]);
}

const ZEROS = Buffer.alloc(BLOCK * 2);

/** Zero bytes that round `size` up to a whole block. */
export function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? ZEROS.subarray(0, 0) : ZEROS.subarray(0, BLOCK - rest);
}

/** Two zero blocks end an archive. */
export const END_OF_ARCHIVE = ZEROS;
