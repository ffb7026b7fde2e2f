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

export function parseManifest(text: string): BundleManifest {
  const value = JSON.parse(text) as BundleManifest;
  if (value?.format !== 1 || !Array.isArray(value.files) || !Array.isArray(value.services)) {
    throw new Error("not a Deckhand bundle manifest");
  }
  return value;
}
