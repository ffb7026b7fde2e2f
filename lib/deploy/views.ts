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
  reviewScript: boolean;
  revertsDeployId: string | null;
  active: boolean;
  /** While a deploy waits for script review: the files it would change against what is live. */
  pendingDiff: FileChange[] | null;
  events: DeployEventView[];
  hostRuns: HostRunView[];
}

const iso = (date: Date | null) => (date ? date.toISOString() : null);

export const isActive = isActiveStatus;

export function toSummaryView(deploy: Deploy & { hostRuns: Pick<HostRun, "hostName" | "status" | "attempt" | "instanceId">[] }): DeploySummaryView {
  return {
    id: deploy.id,
    environment: deploy.environment,
    kind: deploy.kind,
    services: JSON.parse(deploy.services) as string[],
    label: deploy.label,
    bundleKey: deploy.bundleKey,
    status: deploy.status,
    createdBy: deploy.createdBy,
    createdAt: deploy.createdAt.toISOString(),
    finishedAt: iso(deploy.finishedAt),
    hosts: latestRunPerHost(deploy.hostRuns).map(({ hostName, status }) => ({ hostName, status })),
  };
}

export function toDeployView(deploy: Deploy & { hostRuns: (HostRun & { chunks: OutputChunk[] })[]; events: DeployEvent[] }): DeployView {
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
    })),
  };
}

export interface HostView {
  instanceId: string;
  name: string;
  ping: string | null;
  last: { deployId: string; label: string; status: string; at: string } | null;
}

export interface EnvironmentView {
  name: string;
  region: string;
  bucket: string;
  prefix: string;
  liveOutput: boolean;
  s3Output: boolean;
  albUrl: string | null;
  pingError: string | null;
  hosts: HostView[];
  live: LiveView;
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
