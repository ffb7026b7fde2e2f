import { archiveCheckLines, SAFE_EXTRACT_FLAGS } from "./archive-check";
import { awsCliDownloadLines, preflightLines, presignedDownloadLines } from "./preflight";
import { restoreArmLines, restoreDisarmLines } from "./restore";
import { checked, q, shellQuote, UnsafeValueError } from "./shell";

/** Everything the "compose" host profile needs to deploy one bundle (seeds/000's recipe, generalised). */
export interface ComposeScriptInput {
  deployLabel: string;
  repoPath: string;
  region: string;
  bucket: string;
  key: string;
  sha256: string;
  /** Repo-relative dirs removed before extraction (e.g. ui/dist). */
  replace: string[];
  /** Repo-relative paths the bundle carries, chowned after extraction. */
  paths: string[];
  owner: string;
  composeDir: string;
  composeServices: string[];
  /** Extract only these members (a bundle redeployed for some of its services); all when absent. */
  extractPaths?: string[];
  /**
   * A bundle whose members are relative to one directory (seeds/000's `tar czf … -C dist .`): extracted
   * into this repo-relative directory, made after it was replaced, exactly as the runbook's UI recipe does.
   */
  extractInto?: string;
  /** Bundle size in bytes, for the pre-flight's free-disk check (absent: only the margin is checked). */
  bundleBytes?: number;
  /** How the host fetches the bundle: the AWS CLI (default) or curl on a short-lived pre-signed URL. */
  download?: { mode: "aws-cli" } | { mode: "presigned-url"; url: string };
}

/**
 * The bash script one SSM command runs on every host. Every value is validated against a strict
 * pattern and single-quoted; the result is stored with the deploy exactly as sent.
 */
export function composeScript(input: ComposeScriptInput): string {
  // `tar x … --` with no member names extracts the whole archive: an empty list is never "nothing".
  if (input.paths.length === 0) throw new UnsafeValueError("refusing a host script with no paths: the bundle must carry at least one repo path");
  if (input.extractPaths && input.extractPaths.length === 0) {
    throw new UnsafeValueError("refusing a host script with an empty member list: tar would extract every member of the archive");
  }
  const label = q("label", input.deployLabel);
  const download = input.download ?? { mode: "aws-cli" };
  const paths = input.paths.map((p) => q("relativePath", p)).join(" ");
  const lines = [
    "#!/bin/bash",
    `# Deckhand: deploy ${label}`,
    "set -euo pipefail",
    ...preflightLines({ repoPath: input.repoPath, composeDir: input.composeDir, bundleBytes: input.bundleBytes ?? 0, download: download.mode }),
    "",
    `REPO=${q("absolutePath", input.repoPath)}`,
    `EXPECTED_SHA256=${q("sha256", input.sha256)}`,
    // A unique temp file: a leftover /tmp file from an earlier deploy must never be reused.
    `TMP="$(mktemp /tmp/deckhand-bundle.XXXXXXXX)"`,
    `trap 'rm -f "$TMP"' EXIT`,
    `step() { echo "==> $*"; }`,
    "",
    `step "cd $REPO"`,
    `cd "$REPO"`,
    ...(download.mode === "presigned-url" ? presignedDownloadLines(download.url) : awsCliDownloadLines(input.bucket, input.key, input.region)),
    `step "verify sha256 $EXPECTED_SHA256"`,
    `ACTUAL_SHA256="$(sha256sum "$TMP" | cut -d' ' -f1)"`,
    `if [ "$ACTUAL_SHA256" != "$EXPECTED_SHA256" ]; then`,
    `  echo "sha256 mismatch: expected $EXPECTED_SHA256, got $ACTUAL_SHA256; nothing was extracted" >&2`,
    `  exit 3`,
    `fi`,
  ];
  // A hostile archive is refused before anything on the host is touched (the restore block copies and moves).
  lines.push(...archiveCheckLines("TMP"));
  lines.push(...restoreArmLines({ deployLabel: input.deployLabel, paths: input.extractInto !== undefined ? [input.extractInto] : (input.extractPaths ?? input.paths), replace: input.replace }));
  for (const dir of input.replace) {
    const quoted = q("relativePath", dir);
    lines.push(`step "replace "${quoted}`, `sudo rm -rf -- ${quoted}`);
  }
  if (input.extractInto !== undefined) {
    if (input.extractPaths) throw new UnsafeValueError("a bundle extracted into one directory is extracted whole: extractPaths cannot be given with extractInto");
    const into = q("relativePath", input.extractInto);
    lines.push(`step "extract into $REPO/"${into}`, `sudo mkdir -p -- ${into}`, `sudo tar xzf "$TMP" -C "$REPO"/${into} ${SAFE_EXTRACT_FLAGS}`);
  } else {
    lines.push(`step "extract into $REPO"`, `sudo tar xzf "$TMP" -C "$REPO" ${SAFE_EXTRACT_FLAGS}${input.extractPaths ? ` -- ${input.extractPaths.map((p) => q("relativePath", p)).join(" ")}` : ""}`);
  }
  lines.push(
    `step "chown "${q("owner", input.owner)}" "${shellQuote(input.paths.join(" "))}`,
    `sudo chown -R ${q("owner", input.owner)} -- ${paths}`,
    `cd ${q("relativePath", input.composeDir)}`,
  );
  for (const service of input.composeServices) {
    const s = q("composeService", service);
    lines.push(
      `step "docker compose build --no-cache "${s}`,
      `sudo docker compose build --no-cache ${s}`,
      `step "docker compose up -d --no-deps --force-recreate "${s}`,
      `sudo docker compose up -d --no-deps --force-recreate ${s}`,
    );
  }
  lines.push(...restoreDisarmLines(), `step "done: "${label}`, "");
  return lines.join("\n");
}
