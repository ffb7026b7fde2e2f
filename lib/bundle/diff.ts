import type { ManifestFile } from "./manifest";

export interface FileChange {
  path: string;
  change: "added" | "removed" | "changed";
  sizeBefore?: number;
  sizeAfter?: number;
}

/** Files added, removed or changed between what is live and a target bundle, within some paths. */
export function diffFiles(live: ManifestFile[], target: ManifestFile[], withinPaths?: string[]): FileChange[] {
  const inScope = (p: string) => !withinPaths || withinPaths.some((w) => p === w || p.startsWith(w + "/"));
  const before = new Map(live.filter((f) => inScope(f.path)).map((f) => [f.path, f]));
  const after = new Map(target.filter((f) => inScope(f.path)).map((f) => [f.path, f]));
  const changes: FileChange[] = [];
  for (const [path, file] of after) {
    const old = before.get(path);
    if (!old) changes.push({ path, change: "added", sizeAfter: file.size });
    else if (old.sha256 !== file.sha256 || old.linkTarget !== file.linkTarget) changes.push({ path, change: "changed", sizeBefore: old.size, sizeAfter: file.size });
  }
  for (const [path, file] of before) if (!after.has(path)) changes.push({ path, change: "removed", sizeBefore: file.size });
  return changes.sort((a, b) => a.path.localeCompare(b.path));
}
