// Host pre-flight: the first lines of every host script (and a script of its own for the setup check).
// Each check fails before anything on the host is touched, with its own exit code and one line
// "PREFLIGHT: <reason>" on stderr, which Deckhand maps back to a plain-words cause.
import { checked, q, shellQuote, UnsafeValueError } from "./shell";

export type DownloadMode = "aws-cli" | "presigned-url";

export interface PreflightInput {
  repoPath: string;
  composeDir: string;
  /** Size of the bundle to download, in bytes (0 when only the margin matters, e.g. the setup check). */
  bundleBytes: number;
  download: DownloadMode;
}

/** Exit codes of the pre-flight: clear of 1/2 (generic), 3 (sha mismatch), 126-165 (shell/signals), 194 (agent reboot). */
export const PREFLIGHT_EXIT = {
  awsCli: 81,
  dockerCompose: 82,
  sha256sum: 83,
  tar: 84,
  curl: 85,
  repoPath: 86,
  composeFile: 87,
  disk: 88,
  docker: 89,
  systemctl: 90,
  serviceDir: 91,
} as const;

export type PreflightCheck = keyof typeof PREFLIGHT_EXIT;

/** What the panel shows for each pre-flight exit code, and what to do about it. */
export const PREFLIGHT_CAUSES: Record<number, { check: PreflightCheck; cause: string; fix: string }> = {
  [PREFLIGHT_EXIT.awsCli]: {
    check: "awsCli",
    cause: "the AWS CLI is not installed — see README › Hosts",
    fix: "Install AWS CLI v2 on the host (curl the official installer; Ubuntu's archive has no awscli), or set this environment's download to \"presigned-url\" so the host needs only curl.",
  },
  [PREFLIGHT_EXIT.dockerCompose]: {
    check: "dockerCompose",
    cause: "Docker Compose v2 (`docker compose`) is not available — see README › Hosts",
    fix: "Install Docker Engine with the compose plugin (docker-compose-plugin) on the host.",
  },
  [PREFLIGHT_EXIT.sha256sum]: {
    check: "sha256sum",
    cause: "sha256sum is not installed — see README › Hosts",
    fix: "Install coreutils on the host.",
  },
  [PREFLIGHT_EXIT.tar]: { check: "tar", cause: "tar is not installed — see README › Hosts", fix: "Install tar on the host." },
  [PREFLIGHT_EXIT.curl]: {
    check: "curl",
    cause: "curl is not installed (the pre-signed URL download needs it) — see README › Hosts",
    fix: "Install curl on the host, or switch this environment's download back to \"aws-cli\".",
  },
  [PREFLIGHT_EXIT.repoPath]: {
    check: "repoPath",
    cause: "the repo path does not exist on the host — check repoPath in deckhand.config.json",
    fix: "Set the environment's repoPath to the checkout's absolute path on the host (seeds/000: the wrong path is the classic first failure).",
  },
  [PREFLIGHT_EXIT.composeFile]: {
    check: "composeFile",
    cause: "no compose file in the compose directory on the host — check composeDir in deckhand.config.json",
    fix: "Set the environment's composeDir to the repo-relative folder holding docker-compose.yml (or compose.yaml).",
  },
  [PREFLIGHT_EXIT.disk]: {
    check: "disk",
    cause: "not enough free disk space on the host for the bundle",
    fix: "Free disk space on the host (docker system prune, old images and logs) or grow the volume.",
  },
  [PREFLIGHT_EXIT.docker]: {
    check: "docker",
    cause: "Docker (`docker`) is not installed — see README › Hosts",
    fix: "Install Docker Engine on the host: the systemd profile pulls and runs an image.",
  },
  [PREFLIGHT_EXIT.systemctl]: {
    check: "systemctl",
    cause: "systemctl is not available: the host does not run systemd",
    fix: "Use a host with systemd for the systemd profile, or switch this environment's profile to \"compose\".",
  },
  [PREFLIGHT_EXIT.serviceDir]: {
    check: "serviceDir",
    cause: "the service directory does not exist on the host — check systemd.serviceDir in deckhand.config.json",
    fix: "Create the service directory on the host (seeds/002: /opt/atta, holding .env) or fix systemd.serviceDir.",
  },
};

/** Margin kept free beyond the bundle itself: docker builds and logs need room too. */
export const DISK_MARGIN_KB = 50 * 1024;
const COMPOSE_FILES = ["docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml"];

/**
 * The pre-flight lines, meant to follow the shebang and `set -euo pipefail`. They set HOME (unset
 * under SSM) and touch nothing.
 */
export function preflightLines(input: PreflightInput): string[] {
  if (!Number.isSafeInteger(input.bundleBytes) || input.bundleBytes < 0) {
    throw new UnsafeValueError(`refusing bundleBytes ${JSON.stringify(input.bundleBytes)}: it must be a whole number of bytes`);
  }
  if (input.download !== "aws-cli" && input.download !== "presigned-url") {
    throw new UnsafeValueError(`refusing download mode ${JSON.stringify(input.download)}: it must be "aws-cli" or "presigned-url"`);
  }
  const repo = checked("absolutePath", input.repoPath);
  const composeDir = checked("relativePath", input.composeDir).replace(/\/+$/, "");
  const bundleKb = Math.ceil(input.bundleBytes / 1024);
  // The download lands in /tmp; the extraction and the image builds land on the repo's disk.
  const tmpNeedKb = bundleKb + DISK_MARGIN_KB;
  const repoNeedKb = 2 * bundleKb + DISK_MARGIN_KB;
  const fail = (check: PreflightCheck, reason: string) => `preflight_fail ${PREFLIGHT_EXIT[check]} ${shellQuote(reason)}`;
  const tool = (command: string, check: PreflightCheck, reason: string) => `command -v ${command} >/dev/null 2>&1 || ${fail(check, reason)}`;
  const lines = [
    "# Deckhand pre-flight: nothing on this host is changed before these checks pass.",
    // SSM runs the script without HOME; the AWS CLI and docker want one.
    'export HOME="${HOME:-/root}"',
    'preflight_fail() { echo "PREFLIGHT: $2" >&2; exit "$1"; }',
  ];
  if (input.download === "aws-cli") lines.push(tool("aws", "awsCli", "the AWS CLI (aws) is not installed on this host"));
  lines.push(
    `docker compose version >/dev/null 2>&1 || ${fail("dockerCompose", "docker compose (v2 plugin) is not available on this host")}`,
    tool("sha256sum", "sha256sum", "sha256sum is not installed on this host"),
    tool("tar", "tar", "tar is not installed on this host"),
  );
  if (input.download === "presigned-url") lines.push(tool("curl", "curl", "curl is not installed on this host"));
  lines.push(
    `[ -d ${shellQuote(repo)} ] || ${fail("repoPath", `the repo path ${repo} does not exist on this host`)}`,
    `PREFLIGHT_COMPOSE_FOUND=""`,
    `for f in ${COMPOSE_FILES.map((f) => shellQuote(`${repo}/${composeDir}/${f}`)).join(" ")}; do if [ -f "$f" ]; then PREFLIGHT_COMPOSE_FOUND="$f"; fi; done`,
    `[ -n "$PREFLIGHT_COMPOSE_FOUND" ] || ${fail("composeFile", `no compose file (${COMPOSE_FILES.join(", ")}) in ${repo}/${composeDir}`)}`,
    `preflight_disk() {`,
    `  local avail`,
    `  avail="$(df -Pk "$1" 2>/dev/null | awk 'NR==2 {print $4}')" || avail=""`,
    `  case "$avail" in ''|*[!0-9]*) preflight_fail ${PREFLIGHT_EXIT.disk} "could not read the free disk space of $1" ;; esac`,
    `  [ "$avail" -ge "$2" ] || preflight_fail ${PREFLIGHT_EXIT.disk} "not enough free disk space in $1: $avail KB free, $2 KB needed"`,
    `}`,
    `preflight_disk /tmp ${tmpNeedKb}`,
    `preflight_disk ${shellQuote(repo)} ${repoNeedKb}`,
  );
  return lines;
}

export interface SystemdPreflightInput {
  serviceDir: string;
  unitDir: string;
  bundleBytes: number;
  download: DownloadMode;
}

/** The systemd profile's pre-flight: the same shape as the compose one, checking docker and systemctl instead of compose. */
export function systemdPreflightLines(input: SystemdPreflightInput): string[] {
  if (!Number.isSafeInteger(input.bundleBytes) || input.bundleBytes < 0) {
    throw new UnsafeValueError(`refusing bundleBytes ${JSON.stringify(input.bundleBytes)}: it must be a whole number of bytes`);
  }
  if (input.download !== "aws-cli" && input.download !== "presigned-url") {
    throw new UnsafeValueError(`refusing download mode ${JSON.stringify(input.download)}: it must be "aws-cli" or "presigned-url"`);
  }
  const serviceDir = checked("absolutePath", input.serviceDir);
  const unitDir = checked("absolutePath", input.unitDir);
  const needKb = Math.ceil(input.bundleBytes / 1024) + DISK_MARGIN_KB;
  const fail = (check: PreflightCheck, reason: string) => `preflight_fail ${PREFLIGHT_EXIT[check]} ${shellQuote(reason)}`;
  const tool = (command: string, check: PreflightCheck, reason: string) => `command -v ${command} >/dev/null 2>&1 || ${fail(check, reason)}`;
  const lines = [
    "# Deckhand pre-flight: nothing on this host is changed before these checks pass.",
    'export HOME="${HOME:-/root}"',
    'preflight_fail() { echo "PREFLIGHT: $2" >&2; exit "$1"; }',
    // The ECR login needs the CLI in both download modes.
    tool("aws", "awsCli", "the AWS CLI (aws) is not installed on this host"),
    tool("docker", "docker", "docker is not installed on this host"),
    tool("systemctl", "systemctl", "systemctl is not available on this host"),
    tool("sha256sum", "sha256sum", "sha256sum is not installed on this host"),
    tool("tar", "tar", "tar is not installed on this host"),
  ];
  if (input.download === "presigned-url") lines.push(tool("curl", "curl", "curl is not installed on this host"));
  lines.push(
    `[ -d ${shellQuote(serviceDir)} ] || ${fail("serviceDir", `the service directory ${serviceDir} does not exist on this host`)}`,
    `[ -d ${shellQuote(unitDir)} ] || ${fail("systemctl", `the unit directory ${unitDir} does not exist on this host`)}`,
    `preflight_disk() {`,
    `  local avail`,
    `  avail="$(df -Pk "$1" 2>/dev/null | awk 'NR==2 {print $4}')" || avail=""`,
    `  case "$avail" in ''|*[!0-9]*) preflight_fail ${PREFLIGHT_EXIT.disk} "could not read the free disk space of $1" ;; esac`,
    `  [ "$avail" -ge "$2" ] || preflight_fail ${PREFLIGHT_EXIT.disk} "not enough free disk space in $1: $avail KB free, $2 KB needed"`,
    `}`,
    `preflight_disk /tmp ${needKb}`,
    `preflight_disk ${shellQuote(serviceDir)} ${needKb}`,
  );
  return lines;
}

/** The pre-flight alone, as one SSM command for the setup check: prints "PREFLIGHT: ok" when every check passes. */
export function preflightScript(input: PreflightInput): string {
  return ["#!/bin/bash", "set -euo pipefail", ...preflightLines(input), 'echo "PREFLIGHT: ok"', ""].join("\n");
}

/** The systemd profile's pre-flight alone, for the setup check: prints "PREFLIGHT: ok" when every check passes. */
export function systemdPreflightScript(input: SystemdPreflightInput): string {
  return ["#!/bin/bash", "set -euo pipefail", ...systemdPreflightLines(input), 'echo "PREFLIGHT: ok"', ""].join("\n");
}

/** Most of a real pre-signed GetObject URL is its query string; cap it anyway. */
const MAX_URL_LENGTH = 8192;
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** A pre-signed URL is https (or http to this machine, for the sandbox), with nothing a shell could misread once quoted. */
export function checkedDownloadUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UnsafeValueError("refusing the download URL: it is not a URL");
  }
  if (url.length > MAX_URL_LENGTH) throw new UnsafeValueError(`refusing the download URL: longer than ${MAX_URL_LENGTH} characters`);
  // What the SDK's presigner emits (everything else percent-encoded); no quote, space, $, backtick or newline.
  if (!/^[A-Za-z0-9\-._~:/?#[\]@&+,;=%]+$/.test(url)) throw new UnsafeValueError("refusing the download URL: it holds characters a pre-signed URL never does");
  const ok = parsed.protocol === "https:" || (parsed.protocol === "http:" && LOOPBACK.has(parsed.hostname));
  if (!ok) throw new UnsafeValueError(`refusing the download URL: only https (or http to this machine) is allowed, got ${parsed.protocol}//${parsed.hostname}`);
  if (parsed.username || parsed.password) throw new UnsafeValueError("refusing the download URL: it must not carry a user or password");
  return url;
}

/**
 * Download lines for the pre-signed URL mode: curl into "$TMP" (made by the script before). The URL
 * is never echoed: it is a short-lived credential and host output goes to CloudWatch and S3.
 */
export function presignedDownloadLines(url: string): string[] {
  return [`step "download the bundle (pre-signed URL)"`, `curl -fsS --retry 3 -o "$TMP" ${shellQuote(checkedDownloadUrl(url))}`];
}

/** The download line of the AWS CLI mode (HOME is set by the pre-flight). */
export function awsCliDownloadLines(bucket: string, key: string, region: string): string[] {
  const url = shellQuote(`s3://${checked("bucket", bucket)}/${checked("s3Key", key)}`);
  return [`step "download "${url}`, `aws s3 cp ${url} "$TMP" --region ${q("region", region)} --only-show-errors`];
}

/** The stored copy of a script must not keep a pre-signed URL once the deploy ends: its query (the signature) goes. */
export function redactPresignedUrls(script: string): string {
  return script.replace(/(curl -fsS --retry 3 -o "\$TMP" ')([^'?]*)\?[^']*'/g, "$1$2?<pre-signed query removed>'");
}

/**
 * The script to send in the pre-signed URL mode: the stored (redacted) download line gets a freshly
 * minted URL. Checked and quoted like any value; a script without such a line is returned as it is.
 */
export function withPresignedUrl(script: string, url: string): string {
  const quoted = shellQuote(checkedDownloadUrl(url));
  return script.replace(/(curl -fsS --retry 3 -o "\$TMP" )'[^'\n]*'/g, () => `curl -fsS --retry 3 -o "$TMP" ${quoted}`);
}

/** What a host's pre-flight failure means, from its exit code and the first "PREFLIGHT:" line (bounded read). */
export function preflightFailure(exitCode: number, stderr: string): { check: PreflightCheck; cause: string; fix: string; detail: string } | undefined {
  const known = PREFLIGHT_CAUSES[exitCode];
  if (!known) return undefined;
  const line = stderr.slice(0, 16_384).split("\n").find((l) => l.startsWith("PREFLIGHT: "));
  // The line is host output: shown as plain text, capped, never trusted to pick the cause.
  if (!line) return undefined;
  return { ...known, detail: line.slice("PREFLIGHT: ".length, 300 + "PREFLIGHT: ".length) };
}
