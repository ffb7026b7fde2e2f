#!/bin/bash
# Deckhand: deploy '20261123-090000-ui-ab12'
set -euo pipefail
# Deckhand pre-flight: nothing on this host is changed before these checks pass.
export HOME="${HOME:-/root}"
preflight_fail() { echo "PREFLIGHT: $2" >&2; exit "$1"; }
command -v aws >/dev/null 2>&1 || preflight_fail 81 'the AWS CLI (aws) is not installed on this host'
docker compose version >/dev/null 2>&1 || preflight_fail 82 'docker compose (v2 plugin) is not available on this host'
command -v sha256sum >/dev/null 2>&1 || preflight_fail 83 'sha256sum is not installed on this host'
command -v tar >/dev/null 2>&1 || preflight_fail 84 'tar is not installed on this host'
[ -d '/home/ubuntu/aegis' ] || preflight_fail 86 'the repo path /home/ubuntu/aegis does not exist on this host'
PREFLIGHT_COMPOSE_FOUND=""
for f in '/home/ubuntu/aegis/infra/docker-compose.yml' '/home/ubuntu/aegis/infra/docker-compose.yaml' '/home/ubuntu/aegis/infra/compose.yml' '/home/ubuntu/aegis/infra/compose.yaml'; do if [ -f "$f" ]; then PREFLIGHT_COMPOSE_FOUND="$f"; fi; done
[ -n "$PREFLIGHT_COMPOSE_FOUND" ] || preflight_fail 87 'no compose file (docker-compose.yml, docker-compose.yaml, compose.yml, compose.yaml) in /home/ubuntu/aegis/infra'
preflight_disk() {
  local avail
  avail="$(df -Pk "$1" 2>/dev/null | awk 'NR==2 {print $4}')" || avail=""
  case "$avail" in ''|*[!0-9]*) preflight_fail 88 "could not read the free disk space of $1" ;; esac
  [ "$avail" -ge "$2" ] || preflight_fail 88 "not enough free disk space in $1: $avail KB free, $2 KB needed"
}
preflight_disk /tmp 51200
preflight_disk '/home/ubuntu/aegis' 51200

REPO='/home/ubuntu/aegis'
EXPECTED_SHA256='aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
TMP="$(mktemp /tmp/deckhand-bundle.XXXXXXXX)"
trap 'rm -f "$TMP"' EXIT
step() { echo "==> $*"; }

step "cd $REPO"
cd "$REPO"
step "download "'s3://acp-fix-1779860735/deployments/acp_ui_1779860735.tar.gz'
aws s3 cp 's3://acp-fix-1779860735/deployments/acp_ui_1779860735.tar.gz' "$TMP" --region 'ap-south-1' --only-show-errors
step "verify sha256 $EXPECTED_SHA256"
ACTUAL_SHA256="$(sha256sum "$TMP" | cut -d' ' -f1)"
if [ "$ACTUAL_SHA256" != "$EXPECTED_SHA256" ]; then
  echo "sha256 mismatch: expected $EXPECTED_SHA256, got $ACTUAL_SHA256; nothing was extracted" >&2
  exit 3
fi
# --- archive vetting (lib/remote/archive-check.ts): nothing is extracted unless every member passes
deckhand_escapes() { # $1: a path relative to the repo root; true when it is absolute or climbs out
  local part depth=0 parts
  [[ "$1" == /* ]] && return 0
  IFS=/ read -r -a parts <<< "$1"
  for part in "${parts[@]}"; do
    case "$part" in
      ""|.) ;;
      ..) depth=$((depth - 1)); [ "$depth" -lt 0 ] && return 0 ;;
      *) depth=$((depth + 1)) ;;
    esac
  done
  return 1
}
deckhand_through_link() { # $1: member, $2: path; true (and says so) when a directory on the way is a symlink
  local parts prefix="" i
  IFS=/ read -r -a parts <<< "$2"
  for ((i = 0; i < ${#parts[@]} - 1; i++)); do
    prefix+="${parts[i]}"
    [ -z "$prefix" ] && continue
    # Links in this archive, or already in the repo (names with C escapes are checked in the archive only).
    if [ -n "${links[$prefix]+x}" ] || { [[ "$prefix" != *\\* ]] && [ -L "${REPO}/$prefix" ]; }; then
      echo "archive refused: member \"$1\" goes through the symlink \"$prefix\"" >&2; return 0
    fi
    prefix+="/"
  done
  return 1
}
deckhand_vet_archive() {
  local listing line mode kind rest name target dir refused=0 i
  local -a names=() paths=()
  declare -A links=()
  local re='^"((\\.|[^"\\])*)"( (->|link to) "((\\.|[^"\\])*)")?$'
  if ! listing="$(LC_ALL=C tar -tzvf "$1" --quoting-style=c --numeric-owner)"; then
    echo "archive refused: it cannot be listed; nothing was extracted" >&2
    exit 4
  fi
  while IFS= read -r line; do
    [ -z "$line" ] && continue
    mode="${line:0:10}"
    kind="${mode:0:1}"
    rest="\"${line#*\"}"
    if [[ "$line" != *'"'* || ! "$rest" =~ $re ]]; then
      echo "archive refused: unreadable listing line: $line" >&2; refused=1; continue
    fi
    name="${BASH_REMATCH[1]}"
    target="${BASH_REMATCH[5]}"
    if [[ "$name" == /* ]]; then echo "archive refused: member \"$name\" has an absolute path" >&2; refused=1; fi
    if [[ "/$name/" == */../* ]]; then echo "archive refused: member \"$name\" has a .. component" >&2; refused=1; fi
    if [[ "${mode:3:1}" == [sS] || "${mode:6:1}" == [sS] ]]; then echo "archive refused: member \"$name\" is setuid/setgid ($mode)" >&2; refused=1; fi
    case "$kind" in
      -|d) ;;
      l)
        dir=""
        [[ "$name" == */* ]] && dir="${name%/*}/"
        if [[ "$target" == /* ]] || deckhand_escapes "$dir$target"; then
          echo "archive refused: member \"$name\" is a symlink leaving the repo (-> \"$target\")" >&2; refused=1
        fi
        links["$name"]=1
        names+=("$name"); paths+=("$dir$target/x") ;;
      h) echo "archive refused: member \"$name\" is a hard link (to \"$target\")" >&2; refused=1 ;;
      c|b) echo "archive refused: member \"$name\" is a device node" >&2; refused=1 ;;
      p) echo "archive refused: member \"$name\" is a FIFO" >&2; refused=1 ;;
      *) echo "archive refused: member \"$name\" has type '$kind', not a file, directory or symlink" >&2; refused=1 ;;
    esac
    names+=("$name"); paths+=("$name")
  done <<< "$listing"
  # Nothing may be written, or point, through a symlink: a chain of in-repo links can still climb out.
  for ((i = 0; i < ${#names[@]}; i++)); do
    if deckhand_through_link "${names[i]}" "${paths[i]}"; then refused=1; fi
  done
  if [ "$refused" -ne 0 ]; then
    echo "archive refused: nothing was extracted" >&2
    exit 4
  fi
}
step "vet archive members"
deckhand_vet_archive "$TMP"
# --- end of archive vetting

# ---- Deckhand restore block (lib/remote/restore.ts): no half-applied host ----
PREVIOUS="$REPO/.deckhand/previous/"'20261123-090000-ui-ab12'
step() { echo "==> $*"; printf '%s\n' "$*" > "$PREVIOUS/last-step" 2>/dev/null || true; }
echo "==> prune .deckhand/previous (keep the last 3) and stale /tmp/deckhand-bundle.*"
if compgen -G "$REPO/.deckhand/previous/*/" > /dev/null; then
  for done_log in "$REPO"/.deckhand/previous/*/restored.log; do
    if [ -f "$done_log" ]; then echo "==> note: an earlier deploy was put back after it was killed: $(head -c 500 "$done_log")"; sudo mv -- "$done_log" "$done_log.seen"; fi
  done
  ls -1dt -- "$REPO"/.deckhand/previous/*/ | tail -n +4 | while IFS= read -r old; do sudo rm -rf -- "$old"; done
fi
find /tmp -maxdepth 1 -name 'deckhand-bundle.*' -type f -mmin +60 ! -path "$TMP" -exec rm -f -- {} + 2> /dev/null || true
sudo rm -rf -- "$PREVIOUS"
sudo mkdir -p -- "$PREVIOUS"
sudo chmod 0700 -- "$PREVIOUS"
sudo tee "$PREVIOUS/restore.sh" > /dev/null <<'DECKHAND_RESTORE'
#!/bin/bash
# Puts back what a Deckhand deploy moved aside. $1: the repo, $2: its previous/<label> dir, $3: why.
set -u
repo="$1"; previous="$2"; why="$3"
# One restore only: the trap and the guard race for the "armed" mark.
mv -- "$previous/armed" "$previous/restoring" 2> /dev/null || exit 0
cd "$repo" || exit 1
while IFS= read -r p; do
  [ -n "$p" ] || continue
  rm -rf -- "$p"
  if [ -e "$previous/kept/$p" ] || [ -L "$previous/kept/$p" ]; then mkdir -p -- "$(dirname -- "$p")"; mv -- "$previous/kept/$p" "$p"; fi
done < "$previous/saved"
echo "==> restored $(tr '\n' ' ' < "$previous/saved")as they were before this deploy ($why; last step reached: $(cat "$previous/last-step" 2> /dev/null || echo unknown))" | tee "$previous/restored.log"
rm -f -- "$previous/restoring"
DECKHAND_RESTORE
deckhand_restore() { trap - ERR TERM INT; sudo bash "$PREVIOUS/restore.sh" "$REPO" "$PREVIOUS" "$1" || true; }
sudo touch "$PREVIOUS/armed" "$PREVIOUS/saved"
trap 'deckhand_restore "a step failed"' ERR
trap 'deckhand_restore "stopped by a signal"; exit 143' TERM INT
setsid sudo bash -c 'while kill -0 "$1" 2> /dev/null; do sleep 0.5; done; exec bash "$2/restore.sh" "$3" "$2" "the script was killed (SSM cancel or timeout)"' deckhand-guard "$$" "$PREVIOUS" "$REPO" < /dev/null > /dev/null 2>&1 &
deckhand_keep() {
  if [ -e "$1" ] || [ -L "$1" ]; then
    sudo mkdir -p -- "$PREVIOUS/kept/$(dirname -- "$1")"
    if [ "$2" = move ]; then sudo mv -- "$1" "$PREVIOUS/kept/$1"; else sudo cp -a -- "$1" "$PREVIOUS/kept/$1"; fi
  fi
  printf '%s\n' "$1" | sudo tee -a "$PREVIOUS/saved" > /dev/null
}
step "keep what this deploy changes in $PREVIOUS"
deckhand_keep 'ui/dist' move
deckhand_keep 'ui/nginx.conf' copy
# ---- end of the restore block ----

step "replace "'ui/dist'
sudo rm -rf -- 'ui/dist'
step "extract into $REPO"
sudo tar xzf "$TMP" -C "$REPO" --no-same-owner --no-same-permissions --no-overwrite-dir
step "chown "'ubuntu:ubuntu'" "'ui/dist ui/nginx.conf'
sudo chown -R 'ubuntu:ubuntu' -- 'ui/dist' 'ui/nginx.conf'
cd 'infra'
step "docker compose build --no-cache "'ui'
sudo docker compose build --no-cache 'ui'
step "docker compose up -d --no-deps --force-recreate "'ui'
sudo docker compose up -d --no-deps --force-recreate 'ui'
# ---- Deckhand restore block: every step succeeded, nothing to put back ----
trap - ERR TERM INT
sudo rm -f -- "$PREVIOUS/armed"
step "done: "'20261123-090000-ui-ab12'
