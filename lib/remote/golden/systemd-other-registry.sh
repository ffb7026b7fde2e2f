#!/bin/bash
# Deckhand: deploy '20261123-090000-atta-ab12' (systemd profile)
set -euo pipefail
# Deckhand pre-flight: nothing on this host is changed before these checks pass.
export HOME="${HOME:-/root}"
preflight_fail() { echo "PREFLIGHT: $2" >&2; exit "$1"; }
command -v aws >/dev/null 2>&1 || preflight_fail 81 'the AWS CLI (aws) is not installed on this host'
command -v docker >/dev/null 2>&1 || preflight_fail 89 'docker is not installed on this host'
command -v systemctl >/dev/null 2>&1 || preflight_fail 90 'systemctl is not available on this host'
command -v sha256sum >/dev/null 2>&1 || preflight_fail 83 'sha256sum is not installed on this host'
command -v tar >/dev/null 2>&1 || preflight_fail 84 'tar is not installed on this host'
[ -d '/opt/atta' ] || preflight_fail 91 'the service directory /opt/atta does not exist on this host'
[ -d '/etc/systemd/system' ] || preflight_fail 90 'the unit directory /etc/systemd/system does not exist on this host'
preflight_disk() {
  local avail
  avail="$(df -Pk "$1" 2>/dev/null | awk 'NR==2 {print $4}')" || avail=""
  case "$avail" in ''|*[!0-9]*) preflight_fail 88 "could not read the free disk space of $1" ;; esac
  [ "$avail" -ge "$2" ] || preflight_fail 88 "not enough free disk space in $1: $avail KB free, $2 KB needed"
}
preflight_disk /tmp 51200
preflight_disk '/opt/atta' 51200

SERVICE_DIR='/opt/atta'
UNIT_DIR='/etc/systemd/system'
UNIT='atta'
IMAGE='registry.example.com:5000/team/atta'
REGISTRY='registry.example.com:5000'
EXPECTED_SHA256='bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'
TMP="$(mktemp /tmp/deckhand-bundle.XXXXXXXX)"
STAGE="$(mktemp -d /tmp/deckhand-stage.XXXXXXXX)"
trap 'rm -rf "$TMP" "$STAGE"' EXIT
step() { echo "==> $*"; }

cd "$SERVICE_DIR"
step "download "'s3://atta-deploy-artifacts/bundles/dev/deploy-bundle-0.1.30-dev.tar.gz'
aws s3 cp 's3://atta-deploy-artifacts/bundles/dev/deploy-bundle-0.1.30-dev.tar.gz' "$TMP" --region 'us-east-1' --only-show-errors
step "verify sha256 $EXPECTED_SHA256"
ACTUAL_SHA256="$(sha256sum "$TMP" | cut -d' ' -f1)"
if [ "$ACTUAL_SHA256" != "$EXPECTED_SHA256" ]; then
  echo "sha256 mismatch: expected $EXPECTED_SHA256, got $ACTUAL_SHA256; nothing was extracted" >&2
  exit 3
fi
step "extract into a staging directory"
tar xzf "$TMP" -C "$STAGE" --no-same-owner
[ -f "$STAGE/VERSION" ] || { echo "the bundle has no VERSION file: not a systemd-profile bundle" >&2; exit 4; }
[ -f "$STAGE/deploy/systemd/$UNIT.service" ] || { echo "the bundle has no deploy/systemd/$UNIT.service" >&2; exit 4; }
VERSION="$(head -c 256 "$STAGE/VERSION" | head -n 1 | tr -d '[:space:]')"
[[ "$VERSION" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || { echo "VERSION in the bundle is not an image tag: refusing it" >&2; exit 4; }
step "version $VERSION"
step "docker pull $IMAGE:$VERSION"
sudo docker pull "$IMAGE:$VERSION"
step "install deploy/ and VERSION into $SERVICE_DIR"
sudo rm -rf -- "$SERVICE_DIR/deploy"
sudo cp -R -- "$STAGE/deploy" "$SERVICE_DIR/deploy"
sudo cp -- "$STAGE/VERSION" "$SERVICE_DIR/VERSION"
if [ ! -f "$SERVICE_DIR/.env" ] && [ -f "$STAGE/deploy/.env.example" ]; then step "create .env from deploy/.env.example"; sudo cp -- "$STAGE/deploy/.env.example" "$SERVICE_DIR/.env"; fi
step "set IMAGE_TAG=$VERSION in $SERVICE_DIR/.env"
ENV_NEW="$(mktemp "$STAGE/env.XXXXXXXX")"
{ [ -f "$SERVICE_DIR/.env" ] && grep -v -E '^(IMAGE_TAG|ECR_REGISTRY|ECR_REPOSITORY)=' "$SERVICE_DIR/.env" || true; } > "$ENV_NEW"
printf 'ECR_REGISTRY=%s\nECR_REPOSITORY=%s\nIMAGE_TAG=%s\n' "$REGISTRY" "${IMAGE#*/}" "$VERSION" >> "$ENV_NEW"
sudo install -m 0600 -- "$ENV_NEW" "$SERVICE_DIR/.env"
sudo chown -R 'ubuntu:ubuntu' -- "$SERVICE_DIR/deploy" "$SERVICE_DIR/VERSION" "$SERVICE_DIR/.env"
step "install $UNIT.service into $UNIT_DIR"
sudo install -m 0644 -- "$STAGE/deploy/systemd/$UNIT.service" "$UNIT_DIR/$UNIT.service"
step "systemctl daemon-reload"
sudo systemctl daemon-reload
step "systemctl restart $UNIT.service"
sudo systemctl restart "$UNIT.service"
sleep 3
step "systemctl is-active $UNIT.service"
if ! sudo systemctl is-active --quiet "$UNIT.service"; then
  echo "$UNIT.service is not active after the restart:" >&2
  sudo systemctl status "$UNIT.service" --no-pager >&2 || true
  exit 5
fi
step "done: "'20261123-090000-atta-ab12'" ($UNIT.service active with $VERSION)"
