// Smoke checks: HTTP probes through the ALB (or the site's URL) with retries, backoff, token passing and
// per-host attribution. Results are plain data with every secret redacted; a failing probe never throws.
import type { EnvironmentConfig, ProbeConfig } from "../config/schema";
import { select } from "./jsonpath";
import { Redactor } from "./redact";

export interface HostAnswer {
  /** Instance id from the ALB's `x-deckhand-host` tag, when it names one of the environment's hosts. */
  instanceId: string | null;
  hostName: string | null;
  ok: boolean;
  status: number | null;
  problem: string | null;
  /** The start of the answer, redacted, for the operator. */
  excerpt: string;
  /** For bundle-hash probes: the index-*.js the served HTML references. */
  servedIndexJs?: string | null;
}

export interface CheckResult {
  name: string;
  preset: string | null;
  ok: boolean;
  /** Requests made (a probe keeps asking until every host behind the ALB has answered well, or its tries run out). */
  attempts: number;
  status: number | null;
  problem: string | null;
  excerpt: string;
  /** Which host gave the last answer. */
  instanceId: string | null;
  hostName: string | null;
  /** The latest answer of each host that answered (untagged answers under instanceId null). */
  hosts: HostAnswer[];
  /** Hosts whose latest answer failed, or that never answered, when answers are tagged. */
  failingHosts: string[];
  skipped: boolean;
  startedAt: string;
  durationMs: number;
  expectedIndexJs?: string | null;
}

export interface RunChecksOptions {
  /** The manifest of the bundle just deployed: its `index-*.js` is what the bundle-hash probe expects. */
  bundleManifest?: { files: { path: string }[] } | null;
  /** Or name the expected `index-*.js` directly (e.g. from history, for a deploy without the UI). */
  expectedIndexJs?: string | null;
  /** Where secrets are read from (default process.env). */
  env?: Record<string, string | undefined>;
  signal?: AbortSignal;
  /** Called as each check ends, for live progress. */
  onResult?: (result: CheckResult) => void;
  /** Largest answer read, in bytes (default 256 KiB). */
  maxBodyBytes?: number;
}

export type ChecksEnvironment = Pick<EnvironmentConfig, "checks" | "hosts"> & { baseUrl?: string; albUrl?: string };

const EXCERPT_CHARS = 300;
const INDEX_JS = /index-[A-Za-z0-9_-]+\.js/g;
const HOST_TAG = /^(i|mi)-[0-9a-f]{8,17}$/;

/** The `index-*.js` a bundle carries (the hashed Vite entry), or null. */
export function indexJsOf(manifest: { files: { path: string }[] } | null | undefined): string | null {
  const names = (manifest?.files ?? []).map((f) => /(?:^|\/)(index-[A-Za-z0-9_-]+\.js)$/.exec(f.path)?.[1]).filter((n): n is string => Boolean(n));
  return names[0] ?? null;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });

/** Reads at most `max` bytes of a body, then stops the download. */
async function readBounded(response: Response, max: number): Promise<{ text: string; truncated: boolean }> {
  if (!response.body) return { text: "", truncated: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size >= max) {
      truncated = true;
      await reader.cancel().catch(() => {});
      break;
    }
  }
  return { text: Buffer.concat(chunks).subarray(0, max).toString("utf8"), truncated };
}

function fill(template: string, vars: Map<string, string>): string {
  return template.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (_, name: string) => vars.get(name) ?? "");
}

function fillJson(value: unknown, vars: Map<string, string>): unknown {
  if (typeof value === "string") return fill(value, vars);
  if (Array.isArray(value)) return value.map((v) => fillJson(v, vars));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillJson(v, vars)]));
  return value;
}

function describeValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Checks an answer's JSON against the probe's expectations; the first problem, or null. */
export function jsonProblem(probe: Pick<ProbeConfig, "expect" | "extract">, body: unknown): string | null {
  for (const e of probe.expect) {
    const found = select(body, e.path);
    if (found.length === 0) return `${e.path}: not in the answer`;
    if (e.exists) continue;
    const allowed = e.oneOf ?? [e.equals];
    const bad = found.find((f) => !allowed.some((a) => a === f.value));
    if (bad) return `${bad.path} is ${describeValue(bad.value)}, expected ${allowed.map(describeValue).join(" or ")}`;
  }
  for (const [name, path] of Object.entries(probe.extract)) {
    const found = select(body, path);
    if (found.length !== 1 || typeof found[0]!.value !== "string" || !found[0]!.value) return `${path}: no text value to take as {{${name}}}`;
  }
  return null;
}

function backoff(probe: ProbeConfig, failures: number): number {
  return Math.min(probe.backoffMs * 2 ** (failures - 1), probe.backoffMs * 8);
}

function probeUrl(environment: ChecksEnvironment, probe: ProbeConfig, vars: Map<string, string>): string {
  if (probe.url) return fill(probe.url, vars);
  const base = environment.baseUrl ?? environment.albUrl;
  if (!base) throw new Error(`check "${probe.name}" uses a path but the environment has no baseUrl or albUrl`);
  return new URL(fill(probe.path!, vars), base.endsWith("/") ? base : `${base}/`).toString();
}

/**
 * Runs every check of an environment in order (later checks may use values taken by earlier ones).
 * Never throws for a failing probe: the failure is in the result, redacted.
 */
export async function runChecks(environment: ChecksEnvironment, options: RunChecksOptions = {}): Promise<CheckResult[]> {
  const env = options.env ?? process.env;
  const redactor = new Redactor();
  const vars = new Map<string, string>();
  const results: CheckResult[] = [];
  const expectedIndexJs = options.expectedIndexJs ?? indexJsOf(options.bundleManifest);
  const hostNames = new Map(environment.hosts.map((h) => [h.instanceId, h.name]));
  // Collect every secret first, so no message of any check can carry one.
  for (const probe of environment.checks) {
    const value = probe.passwordEnv ? env[probe.passwordEnv] : undefined;
    if (value) redactor.add(value);
  }

  for (const probe of environment.checks) {
    const startedAt = new Date();
    const base = { name: probe.name, preset: probe.preset ?? null, startedAt: startedAt.toISOString(), ...(probe.bundleHash ? { expectedIndexJs } : {}) };
    const skip = (problem: string): CheckResult => ({
      ...base, ok: false, attempts: 0, status: null, problem: redactor.redact(problem), excerpt: "", instanceId: null, hostName: null, hosts: [], failingHosts: [], skipped: true, durationMs: 0,
    });
    let result: CheckResult;
    const missing = templateVars(probe).filter((name) => name !== "password" && !vars.has(name));
    if (missing.length) {
      result = skip(`not run: needs {{${missing.join("}}, {{")}}} from an earlier check that failed`);
    } else if (probe.passwordEnv && !env[probe.passwordEnv]) {
      result = skip(`not run: the environment variable ${probe.passwordEnv} is not set`);
    } else if (probe.passwordEnv && Redactor.tooShort(env[probe.passwordEnv]!)) {
      result = skip(`not run: ${probe.passwordEnv} is shorter than 4 characters, too short to keep out of the results`);
    } else {
      const probeVars = new Map(vars);
      if (probe.passwordEnv) probeVars.set("password", env[probe.passwordEnv]!);
      const ran = await runProbe(environment, probe, probeVars, { ...options, expectedIndexJs, hostNames, redactor, base, startedAt });
      result = ran.result;
      for (const [name, value] of ran.taken) {
        vars.set(name, value);
        redactor.add(value);
      }
    }
    results.push(result);
    options.onResult?.(result);
    if (options.signal?.aborted) break;
  }
  return results;
}

function templateVars(probe: ProbeConfig): string[] {
  const text = JSON.stringify([probe.url, probe.path, probe.headers, probe.json]);
  return [...new Set([...text.matchAll(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g)].map((m) => m[1]!))];
}

interface ProbeContext extends RunChecksOptions {
  expectedIndexJs: string | null;
  hostNames: Map<string, string>;
  redactor: Redactor;
  base: Pick<CheckResult, "name" | "preset" | "startedAt"> & { expectedIndexJs?: string | null };
  startedAt: Date;
}

async function runProbe(
  environment: ChecksEnvironment,
  probe: ProbeConfig,
  vars: Map<string, string>,
  ctx: ProbeContext,
): Promise<{ result: CheckResult; taken: [string, string][] }> {
  const { redactor } = ctx;
  const hostIds = environment.hosts.map((h) => h.instanceId);
  const latest = new Map<string | null, HostAnswer>();
  let attempts = 0;
  let failures = 0;
  let consecutiveOk = 0;
  let last: HostAnswer | undefined;
  const maxRequests = probe.tries * Math.max(1, hostIds.length);
  const tagged = () => [...latest.keys()].some((k) => k !== null);
  const done = () => (tagged() ? hostIds.every((id) => latest.get(id)?.ok) : consecutiveOk >= Math.max(1, hostIds.length));

  while (attempts < maxRequests && !ctx.signal?.aborted) {
    attempts++;
    last = await attempt(environment, probe, vars, ctx);
    latest.set(last.instanceId, last);
    consecutiveOk = last.ok ? consecutiveOk + 1 : 0;
    if (done()) break;
    if (!last.ok) {
      failures++;
      if (failures >= probe.tries) break;
      await sleep(backoff(probe, failures), ctx.signal);
    }
  }

  let ok = done();
  let problem: string | null = null;
  const answers = [...latest.values()].sort((a, b) => String(a.hostName).localeCompare(String(b.hostName)));
  const failingHosts = tagged() ? hostIds.filter((id) => !latest.get(id)?.ok) : [];
  if (!ok) {
    const bad = tagged() ? failingHosts.map((id) => latest.get(id) ?? null) : [last ?? null];
    problem = bad
      .map((answer, i) => {
        if (!answer) {
          const id = failingHosts[i]!;
          return `${ctx.hostNames.get(id) ?? id} (${id}) never answered in ${attempts} requests`;
        }
        const who = answer.instanceId ? `${answer.hostName} (${answer.instanceId}): ` : "";
        return `${who}${answer.problem}`;
      })
      .join("; ");
  } else if (probe.bundleHash && !ctx.expectedIndexJs) {
    // Nothing to compare with: at least every host must serve the same bundle.
    const served = new Set(answers.map((a) => a.servedIndexJs));
    if (served.size > 1) {
      ok = false;
      problem = `hosts serve different bundles: ${answers.map((a) => `${a.hostName ?? "?"} ${a.servedIndexJs}`).join(", ")}`;
    }
  }
  const source = ok ? [...answers].reverse().find((a) => a.ok) : undefined;
  const taken = source ? (extractedOf.get(source) ?? []) : [];
  const result: CheckResult = {
    ...ctx.base,
    ok,
    attempts,
    status: last?.status ?? null,
    problem: problem === null ? null : redactor.redact(problem),
    excerpt: last?.excerpt ?? "",
    instanceId: last?.instanceId ?? null,
    hostName: last?.hostName ?? null,
    hosts: answers,
    failingHosts,
    skipped: false,
    durationMs: Date.now() - ctx.startedAt.getTime(),
  };
  return { result, taken };
}

// Values an answer yielded for {{name}} templates, kept beside (never inside) the result.
const extractedOf = new WeakMap<HostAnswer, [string, string][]>();

async function attempt(environment: ChecksEnvironment, probe: ProbeConfig, vars: Map<string, string>, ctx: ProbeContext): Promise<HostAnswer> {
  const { redactor } = ctx;
  const answer: HostAnswer = { instanceId: null, hostName: null, ok: false, status: null, problem: null, excerpt: "" };
  const signals = [AbortSignal.timeout(probe.timeoutMs), ...(ctx.signal ? [ctx.signal] : [])];
  try {
    const url = probeUrl(environment, probe, vars);
    const headers = Object.fromEntries(Object.entries(probe.headers).map(([k, v]) => [k, fill(v, vars)]));
    let body: string | undefined;
    if (probe.json !== undefined) {
      body = JSON.stringify(fillJson(probe.json, vars));
      if (!Object.keys(headers).some((k) => k.toLowerCase() === "content-type")) headers["Content-Type"] = "application/json";
    }
    const response = await fetch(url, { method: probe.method, headers, body, redirect: "manual", signal: AbortSignal.any(signals) });
    answer.status = response.status;
    const tag = response.headers.get("x-deckhand-host");
    if (tag && HOST_TAG.test(tag) && ctx.hostNames.has(tag)) {
      answer.instanceId = tag;
      answer.hostName = ctx.hostNames.get(tag)!;
    }
    const { text } = await readBounded(response, ctx.maxBodyBytes ?? 256 * 1024);
    answer.excerpt = redactor.redact(text.slice(0, EXCERPT_CHARS * 2)).replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "").slice(0, EXCERPT_CHARS);
    if (!probe.expectStatus.includes(response.status)) {
      answer.problem = `HTTP ${response.status}, expected ${probe.expectStatus.join(" or ")}`;
      return answer;
    }
    if (probe.bundleHash) {
      const served = [...new Set(text.match(INDEX_JS) ?? [])];
      answer.servedIndexJs = served[0] ?? null;
      if (served.length === 0) answer.problem = "the page references no index-*.js";
      else if (ctx.expectedIndexJs && !served.includes(ctx.expectedIndexJs)) {
        answer.problem = `serves ${served.join(", ")}, but the bundle deployed has ${ctx.expectedIndexJs}`;
      }
      if (answer.problem) return answer;
    }
    if (probe.expect.length || Object.keys(probe.extract).length) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        answer.problem = "the answer is not JSON";
        return answer;
      }
      const problem = jsonProblem(probe, json);
      if (problem) {
        answer.problem = redactor.redact(problem);
        return answer;
      }
      extractedOf.set(answer, Object.entries(probe.extract).map(([name, path]) => [name, select(json, path)[0]!.value as string]));
      // A token taken from this answer is itself a secret: mask it in this very excerpt too.
      for (const [, value] of extractedOf.get(answer)!) redactor.add(value);
      answer.excerpt = redactor.redact(answer.excerpt);
    }
    answer.ok = true;
    return answer;
  } catch (error) {
    const e = error as Error & { cause?: { code?: string; message?: string } };
    const why =
      e.name === "TimeoutError"
        ? `no answer within ${probe.timeoutMs} ms`
        : e.cause?.code
          ? `${e.cause.code}${e.cause.message ? `: ${e.cause.message}` : ""}`
          : `${e.message}${e.cause?.message ? `: ${e.cause.message}` : ""}`;
    answer.problem = redactor.redact(`request failed: ${why}`);
    return answer;
  }
}
