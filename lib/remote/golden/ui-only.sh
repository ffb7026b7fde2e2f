#!/bin/bash
# Deckhand: deploy '20261123-090000-ui-ab12'
set -euo pipefail
REPO='/home/ubuntu/aegis'
BUNDLE_URL='s3://acp-fix-1779860735/deployments/acp_ui_1779860735.tar.gz'
EXPECTED_SHA256='aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
TMP="$(mktemp /tmp/deckhand-bundle.XXXXXXXX)"
trap 'rm -f "$TMP"' EXIT
step() { echo "==> $*"; }

step "cd $REPO"
cd "$REPO"
step "download $BUNDLE_URL"
aws s3 cp "$BUNDLE_URL" "$TMP" --region 'ap-south-1' --only-show-errors
step "verify sha256 $EXPECTED_SHA256"
ACTUAL_SHA256="$(sha256sum "$TMP" | cut -d' ' -f1)"
if [ "$ACTUAL_SHA256" != "$EXPECTED_SHA256" ]; then
  echo "sha256 mismatch: expected $EXPECTED_SHA256, got $ACTUAL_SHA256; nothing was extracted" >&2
  exit 3
fi
step "replace "'ui/dist'
sudo rm -rf -- 'ui/dist'
step "extract into $REPO"
sudo tar xzf "$TMP" -C "$REPO" --no-same-owner
step "chown "'ubuntu:ubuntu'" "'ui/dist ui/nginx.conf'
sudo chown -R 'ubuntu:ubuntu' -- 'ui/dist' 'ui/nginx.conf'
cd 'infra'
step "docker compose build --no-cache "'ui'
sudo docker compose build --no-cache 'ui'
step "docker compose up -d --no-deps --force-recreate "'ui'
sudo docker compose up -d --no-deps --force-recreate 'ui'
step "done: "'20261123-090000-ui-ab12'
