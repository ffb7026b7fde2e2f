import { checked, q, shellQuote, UnsafeValueError } from "./shell";

/** The line the host-truth script prints; lib/checks/host-truth.ts looks for it in the output. */
export const HOST_TRUTH_MARKER = "DECKHAND_HOST_TRUTH";

export interface HostTruthScriptInput {
  repoPath: string;
  /** Repo-relative paths of the configured services (files or dirs), as bundles carry them. */
  paths: string[];
  /** What the host's own front server answers (seeds/000's `curl -fsS localhost/`). */
  frontUrl?: string;
  /** At most this many files are listed with their hash (all are in each path's digest). */
  maxFiles?: number;
}

const FRONT_URL = /^http:\/\/(localhost|127\.0\.0\.1)(:\d{1,5})?\/[A-Za-z0-9_.\/-]*$/;
export const DEFAULT_MAX_FILES = 300;

/**
 * A read-only script for one SSM command on every host: prints ONE JSON line (marker first) with the sha256
 * of the last extracted manifest, per configured path a digest over every file's sha256 and the first
 * files' hashes (to match bundles deployed by hand), and the index-*.js the host's front server serves.
 * Bounded: at most `maxFiles` listed files, names outside a plain pattern are only counted.
 */
export function hostTruthScript(input: HostTruthScriptInput): string {
  const frontUrl = input.frontUrl ?? "http://localhost/";
  if (!FRONT_URL.test(frontUrl)) throw new UnsafeValueError(`refusing front URL ${JSON.stringify(frontUrl)}: it must be http://localhost[:port]/path`);
  const maxFiles = input.maxFiles ?? DEFAULT_MAX_FILES;
  if (!Number.isInteger(maxFiles) || maxFiles < 0 || maxFiles > 2000) throw new UnsafeValueError(`refusing maxFiles ${maxFiles}: 0–2000`);
  if (input.paths.length === 0 || input.paths.length > 100) throw new UnsafeValueError("between 1 and 100 paths");
  const paths = input.paths.map((p) => q("relativePath", p)).join(" ");
  return [
    "#!/bin/bash",
    "# Deckhand: read what this host really has (read-only: hashes files, asks its own front server)",
    "set -uo pipefail",
    "export LC_ALL=C",
    `REPO=${q("absolutePath", input.repoPath)}`,
    `FRONT_URL=${shellQuote(frontUrl)}`,
    `MAX_FILES=${maxFiles}`,
    `MARKER=${shellQuote(HOST_TRUTH_MARKER)}`,
    `if ! cd "$REPO" 2>/dev/null; then printf '%s {"v":1,"repo":false}\\n' "$MARKER"; exit 0; fi`,
    `out='{"v":1,"repo":true'`,
    `manifest=''`,
    `if [ -f .deckhand/manifest.json ]; then manifest="$(sha256sum .deckhand/manifest.json | cut -c1-64)"; fi`,
    `out+=',"manifest":"'"$manifest"'","paths":['`,
    `listed=0`,
    `sep=''`,
    `for p in ${paths}; do`,
    `  if [ ! -e "$p" ]; then out+="$sep"'{"path":"'"$p"'","exists":false}'; sep=','; continue; fi`,
    // One hashing pass per path: the digest covers every file, the list only the first MAX_FILES plain names.
    `  sums="$(find "$p" -type f -print0 | sort -z | xargs -0r sha256sum)"`,
    `  digest="$(printf '%s' "$sums" | sha256sum | cut -c1-64)"`,
    `  count=0; odd=0; truncated=false; files=''; fsep=''`,
    `  while IFS= read -r line; do`,
    `    [ -n "$line" ] || continue`,
    `    count=$((count + 1))`,
    `    f="\${line:66}"`,
    `    case "$line" in \\\\*) odd=$((odd + 1)); continue ;; esac`,
    `    case "$f" in *[!A-Za-z0-9_./@+-]*) odd=$((odd + 1)); continue ;; esac`,
    `    if [ "$listed" -ge "$MAX_FILES" ]; then truncated=true; continue; fi`,
    `    files+="$fsep"'["'"$f"'","'"\${line:0:16}"'"]'; fsep=','; listed=$((listed + 1))`,
    `  done <<< "$sums"`,
    `  out+="$sep"'{"path":"'"$p"'","exists":true,"digest":"'"$digest"'","count":'"$count"',"odd":'"$odd"',"truncated":'"$truncated"',"files":['"$files"']}'`,
    `  sep=','`,
    `done`,
    `page="$(curl -fsS --max-time 5 "$FRONT_URL" 2>/dev/null | head -c 262144)"`,
    `front_ok=false; [ -n "$page" ] && front_ok=true`,
    `index_js="$(printf '%s' "$page" | grep -oE 'index-[A-Za-z0-9_-]{1,64}\\.js' | head -n1)"`,
    `out+='],"front":{"ok":'"$front_ok"',"indexJs":"'"$index_js"'"}}'`,
    `printf '%s %s\\n' "$MARKER" "$out"`,
    "",
  ].join("\n");
}

/** For tests and callers that want the same checks the script applies. */
export function checkedPaths(paths: string[]): string[] {
  return paths.map((p) => checked("relativePath", p));
}
