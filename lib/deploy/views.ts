import { versionFromKey } from "../bundle/naming";
import type { FileChange } from "../bundle/diff";
import type { Deploy, DeployEvent, HostRun, OutputChunk } from "../generated/prisma/client";
import { createHash } from "node:crypto";
import { isActiveStatus, latestRunPerHost } from "./status";

/** JSON shapes the UI reads: plain data, dates as ISO strings, no Prisma types leaking out. */

export interface HostRunView {
  id: string;
  attempt: number;
  instanceId: string;
  hostName: string;
  status: string;
  statusDetails: string | null;
  responseCode: number | null;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  startedAt: string;
  finishedAt: string | null;
  live: { id: number; stream: string; text: string; at: string }[];
  /** Older live chunks not in `live` (the page loads them a page at a time); 0 when `live` is complete. */
  liveOlder: number;
}

export interface DeployEventView {
  id: number;
  phase: string;
  message: string;
  bytes: number | null;
  total: number | null;
  at: string;
}

export interface DeploySummaryView {
  id: string;
  environment: string;
  /** The environment is marked production in the config (set by the server from the config). */
  production?: boolean;
  /** The version label in the bundle's key, when it has one. */
  version: string | null;
  kind: string;
  services: string[];
  label: string;
  bundleKey: string;
  status: string;
  createdBy: string;
  createdAt: string;
  finishedAt: string | null;
  hosts: { hostName: string; status: string }[];
}

export interface DeployView extends DeploySummaryView {
  bundleBucket: string;
  bundleSha256: string | null;
  bundleSize: number | null;
  error: string | null;
  commandId: string | null;
  attempt: number;
  gitSha: string | null;
  script: string;
  /** sha256 of `script`: confirming sends it back, so what runs is what was read. */
  scriptSha256: string;
  /** Every verification of this deploy, oldest first. */
  checkRuns?: CheckRunView[];
  /** Runbook actions offered for the hosts the latest checks point at. */
  offeredActions?: OfferedActionView[];
  /** seeds/003's notification text, to copy. */
  summaryText?: string | null;
  reviewScript: boolean;
  revertsDeployId: string | null;
  active: boolean;
  /** While a deploy waits for script review: the files it would change against what is live. */
  pendingDiff: FileChange[] | null;
  events: DeployEventView[];
  hostRuns: HostRunView[];
  /** The environment's script timeout: a running host times out at startedAt + this (null: environment no longer configured). */
  executionTimeoutSeconds: number | null;
  /** Whether the environment streams output live (CloudWatch Logs) or shows it at the end. */
  liveOutput: boolean | null;
  /** Per service, what history says is live now when that is another bundle: where "Roll back" goes. */
  rollbackTo: { service: string; bundleKey: string }[];
}

/** A deploy that has not finished: shown as a banner on every page, and it blocks Deploy in its environment. */
export interface ActiveDeployView {
  id: string;
  environment: string;
  kind: string;
  services: string[];
  status: string;
  createdAt: string;
}

const iso = (date: Date | null) => (date ? date.toISOString() : null);

export const isActive = isActiveStatus;

export function toSummaryView(deploy: Omit<Deploy, "script" | "manifest" | "liveCursor"> & { hostRuns: Pick<HostRun, "hostName" | "status" | "attempt" | "instanceId">[] }): DeploySummaryView {
  return {
    id: deploy.id,
    environment: deploy.environment,
    kind: deploy.kind,
    services: JSON.parse(deploy.services) as string[],
    label: deploy.label,
    bundleKey: deploy.bundleKey,
    version: versionFromKey(deploy.bundleKey),
    status: deploy.status,
    createdBy: deploy.createdBy,
    createdAt: deploy.createdAt.toISOString(),
    finishedAt: iso(deploy.finishedAt),
    hosts: latestRunPerHost(deploy.hostRuns).map(({ hostName, status }) => ({ hostName, status })),
  };
}

export function toDeployView(deploy: Deploy & { hostRuns: (HostRun & { chunks: Pick<OutputChunk, "id" | "stream" | "text" | "at">[]; liveOlder?: number })[]; events: DeployEvent[] }): DeployView {
  return {
    ...toSummaryView(deploy),
    bundleBucket: deploy.bundleBucket,
    bundleSha256: deploy.bundleSha256,
    bundleSize: deploy.bundleSize,
    error: deploy.error,
    commandId: deploy.commandId,
    attempt: deploy.attempt,
    gitSha: deploy.gitSha,
    script: deploy.script,
    scriptSha256: createHash("sha256").update(deploy.script).digest("hex"),
    reviewScript: deploy.reviewScript,
    revertsDeployId: deploy.revertsDeployId,
    active: isActive(deploy.status),
    pendingDiff: null,
    executionTimeoutSeconds: null,
    liveOutput: null,
    rollbackTo: [],
    events: deploy.events.map((e) => ({ id: e.id, phase: e.phase, message: e.message, bytes: e.bytes, total: e.total, at: e.at.toISOString() })),
    hostRuns: deploy.hostRuns.map((run) => ({
      id: run.id,
      attempt: run.attempt,
      instanceId: run.instanceId,
      hostName: run.hostName,
      status: run.status,
      statusDetails: run.statusDetails,
      responseCode: run.responseCode,
      stdout: run.stdout,
      stderr: run.stderr,
      stdoutTruncated: run.stdoutTruncated,
      stderrTruncated: run.stderrTruncated,
      startedAt: run.startedAt.toISOString(),
      finishedAt: iso(run.finishedAt),
      live: run.chunks.map((c) => ({ id: c.id, stream: c.stream, text: c.text, at: c.at.toISOString() })),
      liveOlder: run.liveOlder ?? 0,
    })),
  };
}

export interface HostView {
  instanceId: string;
  name: string;
  ping: string | null;
  agentVersion?: string | null;
  lastPing?: string | null;
  /** ALB target health, when the environment names a target group. */
  target?: { state: string; reason: string | null } | null;
  last: { deployId: string; label: string; status: string; at: string } | null;
}

export interface EnvironmentView {
  name: string;
  /** Marked everywhere; a deploy or rollback there needs the name typed in. */
  production: boolean;
  profile: "compose" | "systemd";
  /** The branch rule: new bundles only from this branch. */
  branch: string | null;
  /** The next version label as seeds/002's `make tag` suggests it (latest matching tag, patch + 1). */
  suggestedVersion: string;
  latestVersionTag: string | null;
  region: string;
  bucket: string;
  prefix: string;
  liveOutput: boolean;
  s3Output: boolean;
  albUrl: string | null;
  pingError: string | null;
  hosts: HostView[];
  live: LiveView;
  /** The deploy running in this environment now, if any (Deploy is disabled while it runs). */
  activeDeploy?: ActiveDeployView | null;
  /** Who holds the environment's bucket lock (any panel, any laptop); null when free. */
  lock: EnvironmentLockView | null;
  lockError: string | null;
}

/** The bucket lock as the dashboard shows it: from the lock object, checked, never trusted further. */
export interface EnvironmentLockView {
  owner: string;
  identity: string;
  deployId: string;
  takenAt: string;
  expiresAt: string;
  expired: boolean;
  /** Not written by Deckhand: shown, never believed. */
  unreadable: boolean;
  /** The deploy is in this panel's history (a link to it works). */
  local: boolean;
}

export interface ServiceView {
  name: string;
  paths: string[];
  replace: string[];
  compose: string[];
  static?: boolean;
  build: string | null;
}

export interface OverviewView {
  configFile: string | null;
  configError: string | null;
  environments: EnvironmentView[];
  services: ServiceView[];
  recent: DeploySummaryView[];
  sandbox: boolean;
}

export interface LiveCellView {
  bundleKey: string;
  deployId: string;
  kind: string;
  at: string;
}

/** Per service: what is live now and the bundle a one-click rollback would go back to. */
export interface RollbackView {
  service: string;
  current: LiveCellView;
  previous: LiveCellView | null;
  /** Whether going to `previous` goes back to an older bundle or forward to a newer one (after a rollback). */
  direction?: "back" | "forward";
}

export interface LiveView {
  /** instanceId → service → the bundle last deployed there successfully (null: history does not know). */
  hosts: Record<string, Record<string, LiveCellView | null>>;
  rollback: RollbackView[];
}

export interface BundleRowView {
  key: string;
  fileName: string;
  size: number;
  lastModified: string;
  expiresAt: string;
  services: string[];
  /** Where the services came from: the deploy history, the object's metadata, or only the key name. */
  servicesFrom: "history" | "metadata" | "key name" | "unknown";
  outsideDeckhand: boolean;
  deployedBy: string | null;
  deployedAt: string | null;
  deployId: string | null;
  liveOn: { instanceId: string; hostName: string; services: string[] }[];
  /** The first and the last deploy of this bundle (the first one uploaded it); null when history has none. */
  firstDeploy?: BundleDeployRef | null;
  lastDeploy?: BundleDeployRef | null;
  deployCount?: number;
  /** Uploaded, but no deploy of it ever reached a host (cancelled before sending, failed before send). */
  neverSent?: boolean;
  /**
   * How the bundle's members map onto the repo, from its key (and history): "repo" (repo-relative),
   * "static" (a `tar -C dist .` bundle for a static service), "systemd" (seeds/002's deploy-bundle-<version>),
   * or "unknown" (it cannot be deployed until a layout is chosen).
   */
  layout: "repo" | "static" | "systemd" | "unknown";
  /** The version label from the key (acp_audit_1.2.3_<stamp>, deploy-bundle-0.1.30-dev) or the history. */
  version: string | null;
}

export interface BundleDeployRef {
  id: string;
  kind: string;
  status: string;
  services: string[];
  createdBy: string;
  createdAt: string;
  /** Whether this deploy's command reached any host. */
  sent: boolean;
}

export interface BundlesPageView {
  environment: string;
  bucket: string;
  prefix: string;
  retentionDays: number;
  lifecycle: { expirationDays: number | null; ruleId: string | null; unreadable: string | null };
  lifecycleWarning: string | null;
  total: number;
  page: number;
  pageSize: number;
  rows: BundleRowView[];
}

/** One verification of a deploy, as the deploy page shows it (results were redacted before they were stored). */
export interface CheckRunView {
  id: number;
  trigger: string;
  ok: boolean;
  at: string;
  summary: string;
  checks: { name: string; ok: boolean; problem: string | null; attempts: number; status: number | null; excerpt: string; failingHosts: string[]; skipped: boolean }[];
  hosts: { instanceId: string; name: string; problem: string | null; summary: string[] }[];
  wrongHosts: { instanceId: string; name: string; services: string[] }[];
  targets: { instanceId: string; state: string; reason?: string | null; description?: string | null }[] | null;
}

/** A runbook action the page can offer, and the hosts it is offered for (those failing one of its checks). */
export interface OfferedActionView {
  name: string;
  description: string | null;
  hosts: "one" | "all";
  /** Instance ids whose latest check failures this action is meant to fix. */
  forHosts: string[];
}

export function toCheckRunView(run: { id: number; trigger: string; ok: boolean; at: Date; summary: string; checks: string; hosts: string; wrongHosts: string; targets: string | null }): CheckRunView {
  const checks = JSON.parse(run.checks) as CheckRunView["checks"];
  return {
    id: run.id,
    trigger: run.trigger,
    ok: run.ok,
    at: run.at.toISOString(),
    summary: run.summary,
    checks: checks.map((c) => ({ name: c.name, ok: c.ok, problem: c.problem ?? null, attempts: c.attempts, status: c.status ?? null, excerpt: (c.excerpt ?? "").slice(0, 500), failingHosts: c.failingHosts ?? [], skipped: Boolean(c.skipped) })),
    hosts: (JSON.parse(run.hosts) as CheckRunView["hosts"]).map((h) => ({ instanceId: h.instanceId, name: h.name, problem: h.problem ?? null, summary: h.summary ?? [] })),
    wrongHosts: JSON.parse(run.wrongHosts) as CheckRunView["wrongHosts"],
    targets: run.targets ? (JSON.parse(run.targets) as CheckRunView["targets"]) : null,
  };
}

/** One host run whose output matched a history search: a bounded snippet, \u0002…\u0003 around the hits. */
export interface OutputMatchView {
  hostRunId: string;
  hostName: string;
  attempt: number;
  snippet: string;
}

/** The history page: one keyset page, the filters it was asked with (as typed), and what they may be. */
export interface HistoryPageView {
  error: string | null;
  filters: Record<string, string>;
  /** Extra query parameters the Next/Previous links keep (the page size). */
  pager: Record<string, string>;
  deploys: DeploySummaryView[];
  matches: Record<string, OutputMatchView[]>;
  next: string | null;
  previous: string | null;
  options: { environments: string[]; services: string[]; statuses: string[]; kinds: string[] };
}
