// Test support: build .tar.gz archives with members a normal `tar czf` would never write
// (setuid bits, device nodes, hard links, escaping symlinks, `..` and absolute names).
import { createGzip } from "node:zlib";
import tar from "tar-stream";

export type HostileEntry = {
  name: string;
  type?: "file" | "directory" | "symlink" | "link" | "character-device" | "block-device" | "fifo";
  mode?: number;
  linkname?: string;
  body?: string;
  pax?: Record<string, string>;
};

export async function hostileTarGz(entries: HostileEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const gzip = createGzip();
  const chunks: Buffer[] = [];
  gzip.on("data", (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<void>((resolve, reject) => {
    gzip.on("end", () => resolve());
    gzip.on("error", reject);
    pack.on("error", reject);
  });
  pack.pipe(gzip);
  for (const entry of entries) {
    const type = entry.type ?? "file";
    const header = {
      name: entry.name,
      type,
      mode: entry.mode ?? (type === "directory" ? 0o755 : 0o644),
      linkname: entry.linkname,
      devmajor: type.endsWith("-device") ? 1 : undefined,
      devminor: type.endsWith("-device") ? 3 : undefined,
      uid: 0,
      gid: 0,
      mtime: new Date(),
      pax: entry.pax,
    };
    await new Promise<void>((resolve, reject) => {
      const callback = (error?: Error | null) => (error ? reject(error) : resolve());
      if (type === "file") pack.entry(header, entry.body ?? "", callback);
      else pack.entry(header, callback);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}
