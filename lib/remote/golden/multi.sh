#!/bin/bash
# Deckhand: deploy '20261123-090000-multi-ab12'
set -euo pipefail
REPO='/home/ubuntu/aegis'
BUNDLE_URL='s3://acp-fix-1779860735/deployments/acp_multi_1779860735.tar.gz'
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
step "extract into $REPO"
sudo tar xzf "$TMP" -C "$REPO" --no-same-owner
step "chown "'ubuntu:ubuntu'" "'services/audit services/gateway ui/nginx.conf'
sudo chown -R 'ubuntu:ubuntu' -- 'services/audit' 'services/gateway' 'ui/nginx.conf'
cd 'infra'
step "docker compose build --no-cache "'audit'
sudo docker compose build --no-cache 'audit'
step "docker compose up -d --no-deps --force-recreate "'audit'
sudo docker compose up -d --no-deps --force-recreate 'audit'
step "docker compose build --no-cache "'gateway'
sudo docker compose build --no-cache 'gateway'
step "docker compose up -d --no-deps --force-recreate "'gateway'
sudo docker compose up -d --no-deps --force-recreate 'gateway'
step "done: "'20261123-090000-multi-ab12'
