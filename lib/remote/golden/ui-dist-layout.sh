#!/bin/bash
# Deckhand: deploy 'redeploy-ui'
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
step "replace "'ui/dist'
sudo rm -rf -- 'ui/dist'
step "extract into $REPO/"'ui/dist'
sudo mkdir -p -- 'ui/dist'
sudo tar xzf "$TMP" -C "$REPO"/'ui/dist' --no-same-owner
step "chown "'ubuntu:ubuntu'" "'ui/dist'
sudo chown -R 'ubuntu:ubuntu' -- 'ui/dist'
cd 'infra'
step "docker compose build --no-cache "'ui'
sudo docker compose build --no-cache 'ui'
step "docker compose up -d --no-deps --force-recreate "'ui'
sudo docker compose up -d --no-deps --force-recreate 'ui'
step "done: "'redeploy-ui'
