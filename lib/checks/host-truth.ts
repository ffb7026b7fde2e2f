// What each host really has, from the host-truth script's output (untrusted: bounded, validated), and
// which known bundle that is: matches the bundle just deployed, stale (an older bundle), or from no known bundle.
import { createHash } from "node:crypto";
import { z } from "zod";
import { HOST_TRUTH_MARKER } from "../remote/host-truth-script";

const MAX_LINE = 64 * 1024;
const hex = (n: number) => z.string().regex(new RegExp(`^[0-9a-f]{${n}}$`));
const relPath = z.string().max(1024).regex(/^[A-Za-z0-9_][A-Za-z0-9_.\/@+-]*$/).refine((p) => !p.split("/").includes(".."));

const pathSchema = z.union([
  z.object({ path: relPath, exists: z.literal(false) }).strict(),
  z
    .object({
      path: relPath,
      exists: z.literal(true),
      digest: hex(64),
      count: z.number().int().min(0).max(10_000_000),
      odd: z.number().int().min(0).max(10_000_000),
      truncated: z.boolean(),
      files: z.array(z.tuple([relPath, hex(16)])).max(2000),
    })
    .strict(),
]);
const readingSchema = z.union([
  z.object({ v: z.literal(1), repo: z.literal(false) }).strict(),
  z
    .object({
      v: z.literal(1),
      repo: z.literal(true),
      manifest: z.union([z.literal(""), hex(64)]),
      paths: z.array(pathSchema).max(100),
      front: z.object({ ok: z.boolean(), indexJs: z.union([z.literal(""), z.string().regex(/^index-[A-Za-z0-9_-]{1,64}\.js$/)]) }).strict(),
    })
    .strict(),
]);

export type PathReading = z.infer<typeof pathSchema>;

export interface HostReading {
  /** False when the output could not be read (the reason is in `problem`). */
  ok: boolean;
  problem: string | null;
  repoExists: boolean;
  manifestSha256: string | null;
  paths: PathReading[];
  front: { ok: boolean; indexJs: string | null };
}

const unreadable = (problem: string): HostReading => ({ ok: false, problem, repoExists: false, manifestSha256: null, paths: [], front: { ok: false, indexJs: null } });

/** Reads the script's line out of a host's stdout; anything unexpected gives ok: false with the reason, never a throw. */
export function parseHostTruth(stdout: string, requestedPaths: string[]): HostReading {
  const lines = stdout.split("\n").filter((l) => l.startsWith(`${HOST_TRUTH_MARKER} `));
  if (lines.length === 0) return unreadable("the host printed no host-truth line");
  if (lines.length > 1) return unreadable("the host printed more than one host-truth line");
  const text = lines[0]!.slice(HOST_TRUTH_MARKER.length + 1);
  if (text.length > MAX_LINE) return unreadable(`the host-truth line is longer than ${MAX_LINE} characters`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return unreadable("the host-truth line is not JSON");
  }
  const parsed = readingSchema.safeParse(raw);
  if (!parsed.success) return unreadable(`the host-truth line is malformed (${parsed.error.issues[0]?.path.join(".") || "top"}: ${parsed.error.issues[0]?.message})`);
  const data = parsed.data;
  if (!data.repo) return { ...unreadable("the repo directory does not exist on the host"), ok: true };
  const seen = new Set<string>();
  for (const p of data.paths) {
    if (!requestedPaths.includes(p.path) || seen.has(p.path)) return unreadable(`the host reported a path that was not asked for: ${p.path}`);
    seen.add(p.path);
    if (p.exists && p.files.some(([f]) => f !== p.path && !f.startsWith(`${p.path}/`))) return unreadable(`the host listed a file outside ${p.path}`);
  }
  return { ok: true, problem: null, repoExists: true, manifestSha256: data.manifest || null, paths: data.paths, front: { ok: data.front.ok, indexJs: data.front.indexJs || null } };
}

export interface CandidateFile {
  path: string;
  sha256: string;
  linkTarget?: string;
}

export interface CandidateBundle {
  key: string;
  manifest: { paths: string[]; replace: string[]; files: CandidateFile[] };
  /** sha256 of the manifest's bytes, when known: the host's last extracted manifest is compared with it. */
  manifestSha256?: string;
  /**
   * Where the bundle's file paths start in the repo, for bundles made by hand from inside a directory
   * (seeds/000's `tar czf … -C dist .` holds `index.html`, extracted into `ui/dist`): "ui/dist".
   */
  root?: string;
}

/** The digest the script computes for one path, from a manifest: sha256 over sorted "sha256  path" lines. */
export function pathDigest(files: CandidateFile[]): string {
  // Byte order, as `LC_ALL=C sort -z` on the host.
  const lines = files
    .filter((f) => !f.linkTarget)
    .sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)))
    .map((f) => `${f.sha256}  ${f.path}`);
  return createHash("sha256").update(lines.join("\n")).digest("hex");
}

function filesUnder(bundle: CandidateBundle, path: string): CandidateFile[] {
  const files = bundle.root ? bundle.manifest.files.map((f) => ({ ...f, path: `${bundle.root}/${f.path}` })) : bundle.manifest.files;
  return files.filter((f) => !f.linkTarget && (f.path === path || f.path.startsWith(`${path}/`)));
}

/** Whether the host's files under `path` are the bundle's. Replaced dirs and files must be exact; other dirs may hold more. */
function pathMatches(reading: PathReading | undefined, bundle: CandidateBundle, path: string): boolean {
  if (!reading?.exists) return false;
  const files = filesUnder(bundle, path);
  if (files.length === 0) return false;
  if (pathDigest(files) === reading.digest) return true;
  if (reading.truncated || reading.odd > 0) return false; // only the exact digest can tell
  const onHost = new Map(reading.files.map(([f, h]) => [f, h]));
  if (!files.every((f) => onHost.get(f.path) === f.sha256.slice(0, 16))) return false;
  const replaced = bundle.root ? [bundle.root] : bundle.manifest.replace; // a bundle made from inside a dir replaces it whole
  const exact = replaced.some((r) => path === r || path.startsWith(`${r}/`)) || (files.length === 1 && files[0]!.path === path);
  return !exact;
}

export type ServiceVerdict =
  | { service: string; state: "matches"; bundleKey: string }
  | { service: string; state: "stale"; bundleKey: string; expectedKey: string }
  | { service: string; state: "unknown"; expectedKey: string | null }
  | { service: string; state: "missing" }
  | { service: string; state: "unreadable"; problem: string };

export interface HostVerdict {
  services: ServiceVerdict[];
  /** The index-*.js the host's own front server serves, and whether it is the expected one. */
  front: { indexJs: string | null; expected: string | null; ok: boolean | null };
  /** The known bundle whose manifest was extracted last on this host, if any. */
  lastManifestKey: string | null;
}

/**
 * Decides, per configured service, which known bundle a host has. `candidates` newest first; `expected`
 * maps a service to the bundle key that should be live (e.g. the one just deployed).
 */
export function decideHost(
  reading: HostReading,
  services: { name: string; paths: string[] }[],
  candidates: CandidateBundle[],
  expected: { byService?: Record<string, string>; indexJs?: string | null } = {},
): HostVerdict {
  const lastManifestKey = reading.manifestSha256 ? (candidates.find((c) => c.manifestSha256 === reading.manifestSha256)?.key ?? null) : null;
  const expectedIndexJs = expected.indexJs ?? null;
  const front = { indexJs: reading.front.indexJs, expected: expectedIndexJs, ok: expectedIndexJs && reading.ok ? reading.front.indexJs === expectedIndexJs : null };
  if (!reading.ok) return { services: services.map((s) => ({ service: s.name, state: "unreadable", problem: reading.problem ?? "unreadable" })), front, lastManifestKey };
  const byPath = new Map(reading.paths.map((p) => [p.path, p]));
  const verdicts = services.map((service): ServiceVerdict => {
    if (service.paths.every((p) => !byPath.get(p)?.exists)) return { service: service.name, state: "missing" };
    const expectedKey = expected.byService?.[service.name] ?? null;
    // A bundle may carry part of a service (a hand-made `tar -C dist .` UI bundle has no nginx.conf): it is
    // judged on the paths it carries.
    const carried = (c: CandidateBundle) => service.paths.filter((p) => filesUnder(c, p).length > 0);
    const carriers = candidates.filter((c) => carried(c).length > 0);
    const matching = carriers.filter((c) => carried(c).every((p) => pathMatches(byPath.get(p), c, p)));
    if (expectedKey && matching.some((c) => c.key === expectedKey)) return { service: service.name, state: "matches", bundleKey: expectedKey };
    const found = (lastManifestKey && matching.find((c) => c.key === lastManifestKey)) || matching[0];
    if (!found) return { service: service.name, state: "unknown", expectedKey };
    if (expectedKey) return { service: service.name, state: "stale", bundleKey: found.key, expectedKey };
    return { service: service.name, state: "matches", bundleKey: found.key };
  });
  return { services: verdicts, front, lastManifestKey };
}

/** One plain sentence for the panel. */
export function describeVerdict(v: ServiceVerdict): string {
  switch (v.state) {
    case "matches":
      return `${v.service}: ${v.bundleKey}`;
    case "stale":
      return `${v.service}: still ${v.bundleKey}, not ${v.expectedKey}`;
    case "unknown":
      return `${v.service}: not from any known bundle`;
    case "missing":
      return `${v.service}: not on the host`;
    case "unreadable":
      return `${v.service}: could not be read (${v.problem})`;
  }
}
