import { awsCliDownloadLines, presignedDownloadLines, systemdPreflightLines } from "./preflight";
import { q, shellQuote, UnsafeValueError } from "./shell";

/**
 * Everything the "systemd" host profile needs to deploy one bundle (seeds/002): the bundle carries
 * `VERSION` and `deploy/` (deploy/systemd/<unit>.service, deploy/.env.example); the image tag is the
 * bundle's VERSION. Rollback is this same script with an older version's bundle.
 */
export interface SystemdScriptInput {
  deployLabel: string;
  region: string;
  bucket: string;
  key: string;
  sha256: string;
  /** The unit's name without `.service`. */
  unit: string;
  /** Where deploy/, VERSION and .env live on the host (seeds/002: /opt/atta). */
  serviceDir: string;
  /** Where the unit file is installed (default /etc/systemd/system). */
  unitDir: string;
  /** `<registry>/<repository>`, no tag. */
  image: string;
  owner: string;
  /** Seconds the unit must stay up after the restart. */
  settleSeconds: number;
  /** Extract only these members; all when absent. */
  extractPaths?: string[];
  bundleBytes?: number;
  download?: { mode: "aws-cli" } | { mode: "presigned-url"; url: string };
}

const UNIT = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;
const IMAGE = /^[a-z0-9][a-z0-9.-]*(:[0-9]{1,5})?\/[a-z0-9][a-z0-9._/-]{0,254}$/;
const ECR_REGISTRY = /^[0-9]{12}\.dkr\.ecr\.([a-z]{2}(-[a-z]+)+-\d)\.amazonaws\.com$/;
/** What VERSION may hold: a Docker tag (seeds/002: MAJOR.MINOR.PATCH-suffix). Checked on the host too. */
export const VERSION_TAG_PATTERN = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$";

function strict(kind: string, pattern: RegExp, value: string): string {
  if (typeof value !== "string" || !pattern.test(value) || value.split("/").includes("..")) {
    throw new UnsafeValueError(`refusing ${kind} ${JSON.stringify(value)}: it does not match ${pattern}`);
  }
  return value;
}

/** The registry part of an image name, and the region when it is an ECR registry (login with the instance role). */
export function imageRegistry(image: string): { registry: string; ecrRegion: string | null } {
  const registry = strict("image", IMAGE, image).split("/")[0]!;
  return { registry, ecrRegion: ECR_REGISTRY.exec(registry)?.[1] ?? null };
}

/**
 * The bash script one SSM command runs on every host of a systemd environment. Every value is
 * validated against a strict pattern and single-quoted; VERSION comes from the bundle, so the host
 * checks it against a tag pattern before it is used anywhere.
 */
export function systemdScript(input: SystemdScriptInput): string {
  const label = q("label", input.deployLabel);
  const download = input.download ?? { mode: "aws-cli" };
  const unit = shellQuote(strict("unit", UNIT, input.unit));
  const { registry, ecrRegion } = imageRegistry(input.image);
  if (!Number.isInteger(input.settleSeconds) || input.settleSeconds < 0 || input.settleSeconds > 120) {
    throw new UnsafeValueError(`refusing settleSeconds ${JSON.stringify(input.settleSeconds)}: it must be a whole number of seconds, 0 to 120`);
  }
  const lines = [
    "#!/bin/bash",
    `# Deckhand: deploy ${label} (systemd profile)`,
    "set -euo pipefail",
    ...systemdPreflightLines({ serviceDir: input.serviceDir, unitDir: input.unitDir, bundleBytes: input.bundleBytes ?? 0, download: download.mode }),
    "",
    `SERVICE_DIR=${q("absolutePath", input.serviceDir)}`,
    `UNIT_DIR=${q("absolutePath", input.unitDir)}`,
    `UNIT=${unit}`,
    `IMAGE=${shellQuote(input.image)}`,
    `REGISTRY=${shellQuote(registry)}`,
    `EXPECTED_SHA256=${q("sha256", input.sha256)}`,
    // Unique temp paths: a leftover from an earlier deploy must never be reused.
    `TMP="$(mktemp /tmp/deckhand-bundle.XXXXXXXX)"`,
    `STAGE="$(mktemp -d /tmp/deckhand-stage.XXXXXXXX)"`,
    `trap 'rm -rf "$TMP" "$STAGE"' EXIT`,
    `step() { echo "==> $*"; }`,
    "",
    `cd "$SERVICE_DIR"`,
    ...(download.mode === "presigned-url" ? presignedDownloadLines(download.url) : awsCliDownloadLines(input.bucket, input.key, input.region)),
    `step "verify sha256 $EXPECTED_SHA256"`,
    `ACTUAL_SHA256="$(sha256sum "$TMP" | cut -d' ' -f1)"`,
    `if [ "$ACTUAL_SHA256" != "$EXPECTED_SHA256" ]; then`,
    `  echo "sha256 mismatch: expected $EXPECTED_SHA256, got $ACTUAL_SHA256; nothing was extracted" >&2`,
    `  exit 3`,
    `fi`,
    `step "extract into a staging directory"`,
    `tar xzf "$TMP" -C "$STAGE" --no-same-owner${input.extractPaths ? ` -- ${input.extractPaths.map((p) => q("relativePath", p)).join(" ")}` : ""}`,
    // Nothing on the host has changed yet: a bundle without the layout is refused here.
    `[ -f "$STAGE/VERSION" ] || { echo "the bundle has no VERSION file: not a systemd-profile bundle" >&2; exit 4; }`,
    `[ -f "$STAGE/deploy/systemd/$UNIT.service" ] || { echo "the bundle has no deploy/systemd/$UNIT.service" >&2; exit 4; }`,
    `VERSION="$(head -c 256 "$STAGE/VERSION" | head -n 1 | tr -d '[:space:]')"`,
    `[[ "$VERSION" =~ ${VERSION_TAG_PATTERN} ]] || { echo "VERSION in the bundle is not an image tag: refusing it" >&2; exit 4; }`,
    `step "version $VERSION"`,
  ];
  if (ecrRegion) {
    lines.push(
      `step "ECR login to $REGISTRY (instance role)"`,
      `aws ecr get-login-password --region ${q("region", ecrRegion)} | sudo docker login --username AWS --password-stdin "$REGISTRY"`,
    );
  }
  lines.push(
    `step "docker pull $IMAGE:$VERSION"`,
    `sudo docker pull "$IMAGE:$VERSION"`,
    `step "install deploy/ and VERSION into $SERVICE_DIR"`,
    `sudo rm -rf -- "$SERVICE_DIR/deploy"`,
    `sudo cp -R -- "$STAGE/deploy" "$SERVICE_DIR/deploy"`,
    `sudo cp -- "$STAGE/VERSION" "$SERVICE_DIR/VERSION"`,
    // .env holds the host's secrets: made from the template once, then only the image lines change.
    `if [ ! -f "$SERVICE_DIR/.env" ] && [ -f "$STAGE/deploy/.env.example" ]; then step "create .env from deploy/.env.example"; sudo cp -- "$STAGE/deploy/.env.example" "$SERVICE_DIR/.env"; fi`,
    `step "set IMAGE_TAG=$VERSION in $SERVICE_DIR/.env"`,
    `ENV_NEW="$(mktemp "$STAGE/env.XXXXXXXX")"`,
    `{ [ -f "$SERVICE_DIR/.env" ] && grep -v -E '^(IMAGE_TAG|ECR_REGISTRY|ECR_REPOSITORY)=' "$SERVICE_DIR/.env" || true; } > "$ENV_NEW"`,
    `printf 'ECR_REGISTRY=%s\\nECR_REPOSITORY=%s\\nIMAGE_TAG=%s\\n' "$REGISTRY" "\${IMAGE#*/}" "$VERSION" >> "$ENV_NEW"`,
    `sudo install -m 0600 -- "$ENV_NEW" "$SERVICE_DIR/.env"`,
    `sudo chown -R ${q("owner", input.owner)} -- "$SERVICE_DIR/deploy" "$SERVICE_DIR/VERSION" "$SERVICE_DIR/.env"`,
    `step "install $UNIT.service into $UNIT_DIR"`,
    `sudo install -m 0644 -- "$STAGE/deploy/systemd/$UNIT.service" "$UNIT_DIR/$UNIT.service"`,
    `step "systemctl daemon-reload"`,
    `sudo systemctl daemon-reload`,
    `step "systemctl restart $UNIT.service"`,
    `sudo systemctl restart "$UNIT.service"`,
    `sleep ${input.settleSeconds}`,
    `step "systemctl is-active $UNIT.service"`,
    `if ! sudo systemctl is-active --quiet "$UNIT.service"; then`,
    `  echo "$UNIT.service is not active after the restart:" >&2`,
    `  sudo systemctl status "$UNIT.service" --no-pager >&2 || true`,
    `  exit 5`,
    `fi`,
    `step "done: "${label}" ($UNIT.service active with $VERSION)"`,
    "",
  );
  return lines.join("\n");
}
