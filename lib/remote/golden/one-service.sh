#!/bin/bash
# Deckhand: deploy '20261123-090000-audit-ab12'
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
step "download "'s3://acp-fix-1779860735/deployments/acp_audit_1779860735.tar.gz'
aws s3 cp 's3://acp-fix-1779860735/deployments/acp_audit_1779860735.tar.gz' "$TMP" --region 'ap-south-1' --only-show-errors
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
step "extract into $REPO"
sudo tar xzf "$TMP" -C "$REPO" --no-same-owner --no-same-permissions --no-overwrite-dir
step "chown "'ubuntu:ubuntu'" "'services/audit'
sudo chown -R 'ubuntu:ubuntu' -- 'services/audit'
cd 'infra'
step "docker compose build --no-cache "'audit'
sudo docker compose build --no-cache 'audit'
step "docker compose up -d --no-deps --force-recreate "'audit'
sudo docker compose up -d --no-deps --force-recreate 'audit'
step "done: "'20261123-090000-audit-ab12'
