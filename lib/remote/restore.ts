// The compose script's restore block (issue 14, "no half-applied host"): kept apart from the
// extraction block so each can change without the other. Every value is validated and quoted by q().
import { q } from "./shell";

/** How many earlier `.deckhand/previous/<label>` entries a deploy keeps (the current one comes on top). */
export const KEEP_PREVIOUS = 3;
/** A /tmp/deckhand-bundle.* file older than this is a leftover of a killed script. */
export const STALE_BUNDLE_MINUTES = 60;

/** The paths a deploy changes, outermost only, each marked "move" (replaced: removed anyway) or "copy" (extracted over). */
export function pathsToKeep(paths: string[], replace: string[]): { path: string; how: "move" | "copy" }[] {
  const all = [...new Set([...replace, ...paths].map((p) => p.replace(/\/+$/, "")))];
  const outer = all.filter((p) => !all.some((other) => other !== p && p.startsWith(`${other}/`)));
  return outer.sort().map((path) => ({ path, how: replace.map((r) => r.replace(/\/+$/, "")).includes(path) ? "move" : "copy" }));
}

/**
 * Before extraction: prune old entries and stale temp bundles, write the restore helper, arm the
 * traps (ERR, TERM, INT) and a guard in its own session (SSM's cancel and timeout SIGKILL the whole
 * process group, which no trap sees), then move/copy aside what the deploy will change.
 * Needs $REPO and $TMP set, and runs in $REPO.
 */
export function restoreArmLines(input: { deployLabel: string; paths: string[]; replace: string[] }): string[] {
  const keep = pathsToKeep(input.paths, input.replace);
  return [
    "",
    "# ---- Deckhand restore block (lib/remote/restore.ts): no half-applied host ----",
    `PREVIOUS="$REPO/.deckhand/previous/"${q("label", input.deployLabel)}`,
    // Every step line is also remembered, so a restore can say how far the deploy got.
    `step() { echo "==> $*"; printf '%s\\n' "$*" > "$PREVIOUS/last-step" 2>/dev/null || true; }`,
    `echo "==> prune .deckhand/previous (keep the last ${KEEP_PREVIOUS}) and stale /tmp/deckhand-bundle.*"`,
    `if compgen -G "$REPO/.deckhand/previous/*/" > /dev/null; then`,
    `  for done_log in "$REPO"/.deckhand/previous/*/restored.log; do`,
    `    if [ -f "$done_log" ]; then echo "==> note: an earlier deploy was put back after it was killed: $(head -c 500 "$done_log")"; sudo mv -- "$done_log" "$done_log.seen"; fi`,
    `  done`,
    `  ls -1dt -- "$REPO"/.deckhand/previous/*/ | tail -n +${KEEP_PREVIOUS + 1} | while IFS= read -r old; do sudo rm -rf -- "$old"; done`,
    `fi`,
    `find /tmp -maxdepth 1 -name 'deckhand-bundle.*' -type f -mmin +${STALE_BUNDLE_MINUTES} ! -path "$TMP" -exec rm -f -- {} + 2> /dev/null || true`,
    `sudo rm -rf -- "$PREVIOUS"`,
    `sudo mkdir -p -- "$PREVIOUS"`,
    `sudo chmod 0700 -- "$PREVIOUS"`,
    `sudo tee "$PREVIOUS/restore.sh" > /dev/null <<'DECKHAND_RESTORE'`,
    `#!/bin/bash`,
    `# Puts back what a Deckhand deploy moved aside. $1: the repo, $2: its previous/<label> dir, $3: why.`,
    `set -u`,
    `repo="$1"; previous="$2"; why="$3"`,
    `# One restore only: the trap and the guard race for the "armed" mark.`,
    `mv -- "$previous/armed" "$previous/restoring" 2> /dev/null || exit 0`,
    `cd "$repo" || exit 1`,
    `while IFS= read -r p; do`,
    `  [ -n "$p" ] || continue`,
    `  rm -rf -- "$p"`,
    `  if [ -e "$previous/kept/$p" ] || [ -L "$previous/kept/$p" ]; then mkdir -p -- "$(dirname -- "$p")"; mv -- "$previous/kept/$p" "$p"; fi`,
    `done < "$previous/saved"`,
    `echo "==> restored $(tr '\\n' ' ' < "$previous/saved")as they were before this deploy ($why; last step reached: $(cat "$previous/last-step" 2> /dev/null || echo unknown))" | tee "$previous/restored.log"`,
    `rm -f -- "$previous/restoring"`,
    `DECKHAND_RESTORE`,
    `deckhand_restore() { trap - ERR TERM INT; sudo bash "$PREVIOUS/restore.sh" "$REPO" "$PREVIOUS" "$1" || true; }`,
    `sudo touch "$PREVIOUS/armed" "$PREVIOUS/saved"`,
    `trap 'deckhand_restore "a step failed"' ERR`,
    `trap 'deckhand_restore "stopped by a signal"; exit 143' TERM INT`,
    `setsid sudo bash -c 'while kill -0 "$1" 2> /dev/null; do sleep 0.5; done; exec bash "$2/restore.sh" "$3" "$2" "the script was killed (SSM cancel or timeout)"' deckhand-guard "$$" "$PREVIOUS" "$REPO" < /dev/null > /dev/null 2>&1 &`,
    `deckhand_keep() {`,
    `  if [ -e "$1" ] || [ -L "$1" ]; then`,
    `    sudo mkdir -p -- "$PREVIOUS/kept/$(dirname -- "$1")"`,
    `    if [ "$2" = move ]; then sudo mv -- "$1" "$PREVIOUS/kept/$1"; else sudo cp -a -- "$1" "$PREVIOUS/kept/$1"; fi`,
    `  fi`,
    `  printf '%s\\n' "$1" | sudo tee -a "$PREVIOUS/saved" > /dev/null`,
    `}`,
    `step "keep what this deploy changes in $PREVIOUS"`,
    ...keep.map(({ path, how }) => `deckhand_keep ${q("relativePath", path)} ${how}`),
    "# ---- end of the restore block ----",
    "",
  ];
}

/** After the last `up`: the deploy is applied, nothing is put back any more. */
export function restoreDisarmLines(): string[] {
  return ["# ---- Deckhand restore block: every step succeeded, nothing to put back ----", "trap - ERR TERM INT", `sudo rm -f -- "$PREVIOUS/armed"`];
}
