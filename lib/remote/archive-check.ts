/**
 * Host-side archive vetting: script lines that list a downloaded bundle and refuse it before
 * anything is extracted as root. A bundle comes from a bucket others may write to, so its members
 * are not trusted: absolute or `..` names, symlinks that resolve outside the repo, hard links,
 * device nodes, FIFOs (anything but files, directories and symlinks) and setuid/setgid bits are
 * refused, each offending member named on stderr, with exit code ARCHIVE_REFUSED_EXIT.
 *
 * The listing is GNU tar's `tvf` with `--quoting-style=c`: every name (and link target) is one
 * double-quoted C string, so a newline, quote or " -> " inside a name cannot fake a line or a
 * field. `/` and `.` are never escaped, so path checks on the quoted form are exact.
 */

/** The exit code a refused archive ends the script with (3 is the sha256 mismatch). */
export const ARCHIVE_REFUSED_EXIT = 4;

/** Flags for the extraction itself: never keep ownership, permissions' special bits or a directory's old metadata. */
export const SAFE_EXTRACT_FLAGS = "--no-same-owner --no-same-permissions --no-overwrite-dir";

/**
 * Bash lines defining and running the check on the archive in the shell variable `archiveVar`
 * (e.g. "TMP"). Self-contained: needs only bash and GNU tar.
 */
export function archiveCheckLines(archiveVar = "TMP", repoVar = "REPO"): string[] {
  for (const name of [archiveVar, repoVar]) if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) throw new Error(`not a shell variable name: ${name}`);
  const exit = ARCHIVE_REFUSED_EXIT;
  return [
    `# --- archive vetting (lib/remote/archive-check.ts): nothing is extracted unless every member passes`,
    `deckhand_escapes() { # $1: a path relative to the repo root; true when it is absolute or climbs out`,
    `  local part depth=0 parts`,
    `  [[ "$1" == /* ]] && return 0`,
    `  IFS=/ read -r -a parts <<< "$1"`,
    `  for part in "\${parts[@]}"; do`,
    `    case "$part" in`,
    `      ""|.) ;;`,
    `      ..) depth=$((depth - 1)); [ "$depth" -lt 0 ] && return 0 ;;`,
    `      *) depth=$((depth + 1)) ;;`,
    `    esac`,
    `  done`,
    `  return 1`,
    `}`,
    `deckhand_through_link() { # $1: member, $2: path; true (and says so) when a directory on the way is a symlink`,
    `  local parts prefix="" i`,
    `  IFS=/ read -r -a parts <<< "$2"`,
    `  for ((i = 0; i < \${#parts[@]} - 1; i++)); do`,
    `    prefix+="\${parts[i]}"`,
    `    [ -z "$prefix" ] && continue`,
    `    # Links in this archive, or already in the repo (names with C escapes are checked in the archive only).`,
    `    if [ -n "\${links[$prefix]+x}" ] || { [[ "$prefix" != *\\\\* ]] && [ -L "\${${repoVar}}/$prefix" ]; }; then`,
    `      echo "archive refused: member \\"$1\\" goes through the symlink \\"$prefix\\"" >&2; return 0`,
    `    fi`,
    `    prefix+="/"`,
    `  done`,
    `  return 1`,
    `}`,
    `deckhand_vet_archive() {`,
    `  local listing line mode kind rest name target dir refused=0 i`,
    `  local -a names=() paths=()`,
    `  declare -A links=()`,
    `  local re='^"((\\\\.|[^"\\\\])*)"( (->|link to) "((\\\\.|[^"\\\\])*)")?$'`,
    `  if ! listing="$(LC_ALL=C tar -tzvf "$1" --quoting-style=c --numeric-owner)"; then`,
    `    echo "archive refused: it cannot be listed; nothing was extracted" >&2`,
    `    exit ${exit}`,
    `  fi`,
    `  while IFS= read -r line; do`,
    `    [ -z "$line" ] && continue`,
    `    mode="\${line:0:10}"`,
    `    kind="\${mode:0:1}"`,
    `    rest="\\"\${line#*\\"}"`,
    `    if [[ "$line" != *'"'* || ! "$rest" =~ $re ]]; then`,
    `      echo "archive refused: unreadable listing line: $line" >&2; refused=1; continue`,
    `    fi`,
    `    name="\${BASH_REMATCH[1]}"`,
    `    target="\${BASH_REMATCH[5]}"`,
    `    if [[ "$name" == /* ]]; then echo "archive refused: member \\"$name\\" has an absolute path" >&2; refused=1; fi`,
    `    if [[ "/$name/" == */../* ]]; then echo "archive refused: member \\"$name\\" has a .. component" >&2; refused=1; fi`,
    `    if [[ "\${mode:3:1}" == [sS] || "\${mode:6:1}" == [sS] ]]; then echo "archive refused: member \\"$name\\" is setuid/setgid ($mode)" >&2; refused=1; fi`,
    `    case "$kind" in`,
    `      -|d) ;;`,
    `      l)`,
    `        dir=""`,
    `        [[ "$name" == */* ]] && dir="\${name%/*}/"`,
    `        if [[ "$target" == /* ]] || deckhand_escapes "$dir$target"; then`,
    `          echo "archive refused: member \\"$name\\" is a symlink leaving the repo (-> \\"$target\\")" >&2; refused=1`,
    `        fi`,
    `        links["$name"]=1`,
    `        names+=("$name"); paths+=("$dir$target/x") ;;`,
    `      h) echo "archive refused: member \\"$name\\" is a hard link (to \\"$target\\")" >&2; refused=1 ;;`,
    `      c|b) echo "archive refused: member \\"$name\\" is a device node" >&2; refused=1 ;;`,
    `      p) echo "archive refused: member \\"$name\\" is a FIFO" >&2; refused=1 ;;`,
    `      *) echo "archive refused: member \\"$name\\" has type '$kind', not a file, directory or symlink" >&2; refused=1 ;;`,
    `    esac`,
    `    names+=("$name"); paths+=("$name")`,
    `  done <<< "$listing"`,
    `  # Nothing may be written, or point, through a symlink: a chain of in-repo links can still climb out.`,
    `  for ((i = 0; i < \${#names[@]}; i++)); do`,
    `    if deckhand_through_link "\${names[i]}" "\${paths[i]}"; then refused=1; fi`,
    `  done`,
    `  if [ "$refused" -ne 0 ]; then`,
    `    echo "archive refused: nothing was extracted" >&2`,
    `    exit ${exit}`,
    `  fi`,
    `}`,
    `step "vet archive members"`,
    `deckhand_vet_archive "$${archiveVar}"`,
    `# --- end of archive vetting`,
  ];
}
