#!/bin/bash
# Deckhand: runbook action 'redeploy'
set -euo pipefail
export HOME="${HOME:-/root}"
DIR='/home/ubuntu/omneuro'
COMMAND='./scripts/04-redeploy.sh'
cd "$DIR"
echo "==> as "'ubuntu'" in $DIR: $COMMAND"
sudo -i -u 'ubuntu' bash -lc "cd $(printf '%q' "$DIR") && $COMMAND"
echo "==> done: "'redeploy'
