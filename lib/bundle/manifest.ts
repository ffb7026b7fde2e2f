/** The manifest travels inside every bundle (first entry) so any bundle explains itself later. */

export const MANIFEST_PATH = ".deckhand/manifest.json";

export interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
  /** Set for symlinks (which stay inside the repo). */
  linkTarget?: string;
}

export interface GitInfo {
  sha: string;
  branch: string;
  dirty: boolean;
  /** The tag(s) on the commit, newest version first ("0.1.30-dev, v0.1.30"); null when none. Absent in older manifests. */
  tag?: string | null;
  /** The tag or commit the operator asked to deploy, packed from a clean checkout of it. */
  ref?: string;
}

export interface BundleManifest {
  format: 1;
  label: string;
  services: string[];
  paths: string[];
  replace: string[];
  files: ManifestFile[];
  git: GitInfo | null;
  createdAt: string;
  createdBy: string;
  deckhandVersion: string;
  /** The version label given at deploy time (MAJOR.MINOR.PATCH-suffix), also in the bundle's key. */
  version?: string | null;
  /**
   * Only in the copy Deckhand records in its history, never believed from an archive: a bundle made
   * by hand with `tar -C dist .` whose files (listed under `into`) are extracted into that directory.
   */
  layout?: { kind: "static"; into: string };
}

/** Read from archives anyone with bucket write could have made: bounded and shape-checked. */
export function parseManifest(text: string, limits: { manifestBytes: number; entries: number } = { manifestBytes: 8 * 1024 * 1024, entries: 100_000 }): BundleManifest {
  if (text.length > limits.manifestBytes) throw new ManifestError(`manifest of ${text.length} bytes is over the ${limits.manifestBytes}-byte limit`);
  let value: BundleManifest;
  try {
    value = JSON.parse(text) as BundleManifest;
  } catch {
    throw new ManifestError("not a Deckhand bundle manifest: not JSON");
  }
  if (value?.format !== 1 || !Array.isArray(value.files) || !Array.isArray(value.services) || !Array.isArray(value.paths)) {
    throw new ManifestError("not a Deckhand bundle manifest");
  }
  if (value.files.length > limits.entries) throw new ManifestError(`manifest lists ${value.files.length} files, over the ${limits.entries} limit`);
  const strings = (list: unknown[]) => list.every((s) => typeof s === "string" && s.length <= 4096);
  if (!strings(value.services) || !strings(value.paths) || (value.replace !== undefined && !(Array.isArray(value.replace) && strings(value.replace)))) {
    throw new ManifestError("not a Deckhand bundle manifest: services, paths and replace must be lists of short strings");
  }
  if (!value.files.every((f) => f !== null && typeof f === "object" && typeof f.path === "string" && f.path.length <= 4096)) {
    throw new ManifestError("not a Deckhand bundle manifest: every file needs a path");
  }
  return value;
}

export class ManifestError extends Error {
  name = "BundleError";
}
