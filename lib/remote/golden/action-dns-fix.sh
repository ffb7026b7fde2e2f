#!/bin/bash
# Deckhand: runbook action 'docker-dns-fix'
set -euo pipefail
export HOME="${HOME:-/root}"
DIR='/home/ubuntu/aegis/infra'
COMMAND='docker compose up -d --force-recreate gateway ui'
cd "$DIR"
echo "==> in $DIR: $COMMAND"
bash -c "$COMMAND"
echo "==> done: "'docker-dns-fix'
