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
}

export function parseManifest(text: string): BundleManifest {
  const value = JSON.parse(text) as BundleManifest;
  if (value?.format !== 1 || !Array.isArray(value.files) || !Array.isArray(value.services)) {
    throw new Error("not a Deckhand bundle manifest");
  }
  return value;
}
