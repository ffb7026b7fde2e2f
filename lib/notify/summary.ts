// seeds/003's deployment notification, as plain text from plain data (copied from the panel, or POSTed).

export interface SummaryHost {
  name: string;
  instanceId: string;
  /** Bundle (or label) live before, and after. */
  from: string | null;
  to: string | null;
  /** e.g. Success, Failed, TimedOut. */
  status: string;
}

export interface SummaryCheck {
  name: string;
  ok: boolean;
  problem?: string | null;
}

export interface SummaryTarget {
  instanceId: string;
  name?: string;
  state: string;
  reason?: string | null;
}

export interface DeploySummary {
  kind: "deploy" | "rollback" | "action";
  environment: string;
  /** Services deployed, or the action's name. */
  what: string;
  outcome: string;
  bundleKey?: string | null;
  hosts: SummaryHost[];
  checks?: SummaryCheck[] | null;
  targets?: SummaryTarget[] | null;
  rollbackTarget?: string | null;
  change?: string | null;
  who: string;
}

const HEAD: Record<DeploySummary["kind"], string> = { deploy: "🚀 Deployment", rollback: "⏪ Rollback", action: "🛠 Action" };
const short = (key: string | null | undefined) => (key ? key.split("/").pop()! : "none");

export function summaryText(s: DeploySummary): string {
  const lines = [`${HEAD[s.kind]}: ${s.what} → ${s.environment} (${s.outcome})`];
  if (s.bundleKey) lines.push(`Bundle: ${s.bundleKey}`);
  for (const h of s.hosts) {
    lines.push(s.kind === "action" ? `${h.name} (${h.instanceId}): ${h.status}` : `${h.name} (${h.instanceId}): ${short(h.from)} → ${short(h.to)} (${h.status})`);
  }
  if (s.checks) {
    const green = s.checks.filter((c) => c.ok).length;
    const failed = s.checks.filter((c) => !c.ok);
    if (s.checks.length === 0) lines.push("Health: no checks configured");
    else if (failed.length === 0) lines.push(`Health: ✅ ${green}/${s.checks.length} checks green`);
    else lines.push(`Health: ❌ ${green}/${s.checks.length} checks green`, ...failed.map((c) => `  ✗ ${c.name}${c.problem ? `: ${c.problem}` : ""}`));
  }
  if (s.targets) {
    const healthy = s.targets.filter((t) => t.state === "healthy").length;
    const others = s.targets.filter((t) => t.state !== "healthy").map((t) => `${t.name ?? t.instanceId} ${t.state}${t.reason ? ` (${t.reason})` : ""}`);
    lines.push(`Targets: ${healthy === s.targets.length ? "✅" : "❌"} ${healthy}/${s.targets.length} healthy${others.length ? ` — ${others.join(", ")}` : ""}`);
  }
  if (s.kind !== "action") lines.push(`Rollback: ${s.rollbackTarget ?? "no earlier bundle"}`);
  if (s.change) lines.push(`Change: ${s.change}`);
  lines.push(`${s.kind === "action" ? "Run" : "Deployed"} by: ${s.who}`);
  return lines.join("\n");
}
