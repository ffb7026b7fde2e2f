#!/bin/bash
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
preflight_disk /tmp 63257
preflight_disk '/home/ubuntu/aegis' 75314
echo "PREFLIGHT: ok"
