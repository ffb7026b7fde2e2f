import { z } from "zod";

// Smoke checks, presets and runbook actions of one environment (issue 8). Presets expand at parse time,
// so everything downstream (lib/checks) sees plain probes.

/** A JSON path over an answer: dot segments, `[n]` indexes, `[*]` / `*` for every element or value. */
export const JSON_PATH = /^(\*|[A-Za-z0-9_$-]+(\[(\*|\d+)\])*)(\.(\*|[A-Za-z0-9_$-]+(\[(\*|\d+)\])*))*$/;
const jsonPath = z.string().regex(JSON_PATH, "must be a JSON path such as data.services[*].status");
const varName = z.string().regex(/^[a-z][a-zA-Z0-9_]{0,31}$/, "must be a short name of letters, digits or _ (starting lowercase)");
/** Secrets are named, never written: the config holds the environment variable's NAME only. */
export const envVarName = z.string().regex(/^[A-Z_][A-Z0-9_]{0,127}$/, "must be the NAME of an environment variable (A-Z, 0-9, _), never the secret itself");
const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/, "must be an HTTP header name");
const headerValue = z.string().max(4096).refine((v) => !/[\r\n\0]/.test(v), "must not contain line breaks");
const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const expectationSchema = z
  .object({
    path: jsonPath,
    equals: scalar.optional(),
    oneOf: z.array(scalar).min(1).optional(),
    exists: z.literal(true).optional(),
  })
  .strict()
  .refine((e) => [e.equals !== undefined, e.oneOf !== undefined, e.exists !== undefined].filter(Boolean).length === 1, "needs exactly one of equals, oneOf, exists");

const retry = {
  /** Attempts before a probe is red (seeds/004: 5 tries with backoff). */
  tries: z.number().int().min(1).max(20).default(5),
  /** First pause after a failed attempt; doubles each time, capped at 8 × this. */
  backoffMs: z.number().int().min(0).max(60_000).default(1000),
  timeoutMs: z.number().int().min(100).max(60_000).default(5000),
};

export const probeSchema = z
  .object({
    name: z.string().min(1).max(64),
    method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]).default("GET"),
    url: z.url({ protocol: /^https?$/ }).optional(),
    path: z.string().regex(/^\/[^\s]*$/, "must start with / (relative to the environment's baseUrl or albUrl)").optional(),
    headers: z.record(headerName, headerValue).default({}),
    json: z.unknown().optional(),
    expectStatus: z.union([z.number().int().min(100).max(599), z.array(z.number().int().min(100).max(599)).min(1)]).default(200)
      .transform((s) => (Array.isArray(s) ? s : [s])),
    expect: z.array(expectationSchema).default([]),
    /** Values taken from this probe's JSON answer for later probes, used as {{name}}. */
    extract: z.record(varName, jsonPath).default({}),
    /** Compare the served index-*.js (from the HTML answer) with the bundle just deployed. */
    bundleHash: z.boolean().default(false),
    /** The login password's environment variable, used as {{password}}. */
    passwordEnv: envVarName.optional(),
    ...retry,
  })
  .strict()
  .refine((p) => (p.url === undefined) !== (p.path === undefined), "needs exactly one of url or path");

const aegisSmoke = z
  .object({
    preset: z.literal("aegis-smoke"),
    email: z.string().min(3).max(254).default("admin@acp.local"),
    tenantId: headerValue.default("00000000-0000-0000-0000-000000000001"),
    passwordEnv: envVarName,
    /** Where the login answer carries the token. */
    tokenPath: jsonPath.default("access_token"),
    ...retry,
  })
  .strict();
const liveReady = z.object({ preset: z.literal("live-ready"), ...retry }).strict();
const presetSchema = z.discriminatedUnion("preset", [aegisSmoke, liveReady]);

/** A probe as lib/checks runs it; `preset` says which preset made it. */
export type ProbeConfig = z.output<typeof probeSchema> & { preset?: string };
export type Expectation = z.output<typeof expectationSchema>;

/** seeds/000's four probes and seeds/003's live/ready pair, as plain probes. */
export function expandPreset(entry: z.output<typeof presetSchema>): z.input<typeof probeSchema>[] {
  const { tries, backoffMs, timeoutMs } = entry;
  const common = { tries, backoffMs, timeoutMs };
  if (entry.preset === "live-ready") {
    return [
      { name: "live", path: "/health/live", ...common },
      { name: "ready", path: "/health/ready", expect: [{ path: "ok", equals: true }, { path: "checks[*].ok", equals: true }], ...common },
    ];
  }
  const tenant = { "X-Tenant-ID": entry.tenantId };
  const auth = { Authorization: "Bearer {{token}}", ...tenant };
  return [
    { name: "bundle hash", path: "/", bundleHash: true, ...common },
    {
      name: "login",
      method: "POST",
      path: "/auth/token",
      headers: { "Content-Type": "application/json", ...tenant },
      json: { email: entry.email, password: "{{password}}" },
      passwordEnv: entry.passwordEnv,
      expect: [{ path: entry.tokenPath, exists: true }],
      extract: { token: entry.tokenPath },
      ...common,
    },
    { name: "system health", path: "/system/health", headers: auth, expect: [{ path: "data.services[*].status", equals: "healthy" }], ...common },
    { name: "audit chain", path: "/audit/logs/verify", headers: auth, expect: [{ path: "data.valid", equals: true }], ...common },
  ];
}

const TEMPLATE = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

/** Every {{name}} a probe uses (path, url, headers, JSON strings). */
export function templateNames(probe: ProbeConfig): { where: (string | number)[]; name: string }[] {
  const found: { where: (string | number)[]; name: string }[] = [];
  const scan = (text: string, where: (string | number)[]) => {
    for (const m of text.matchAll(TEMPLATE)) found.push({ where, name: m[1]! });
  };
  if (probe.path) scan(probe.path, ["path"]);
  if (probe.url) scan(probe.url, ["url"]);
  for (const [k, v] of Object.entries(probe.headers)) scan(v, ["headers", k]);
  const walk = (value: unknown, where: (string | number)[]) => {
    if (typeof value === "string") scan(value, where);
    else if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...where, i]));
    else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) walk(v, [...where, k]);
  };
  walk(probe.json, ["json"]);
  return found;
}

const PRESETS = ["aegis-smoke", "live-ready"];

/** A check entry is a probe or a preset; presets become probes, and templates must name something known. */
export const checksSchema = z
  .array(z.unknown())
  .default([])
  .transform((entries, ctx) => {
    const probes: ProbeConfig[] = [];
    const origin: number[] = [];
    const fail = (path: PropertyKey[], message: string) => ctx.addIssue({ code: "custom", path: path as (string | number)[], message });
    entries.forEach((entry, index) => {
      const isPreset = typeof entry === "object" && entry !== null && "preset" in entry;
      if (isPreset) {
        const name = (entry as { preset: unknown }).preset;
        if (!PRESETS.includes(name as string)) return fail([index, "preset"], `unknown preset ${JSON.stringify(name)} (known: ${PRESETS.join(", ")})`);
        const parsed = presetSchema.safeParse(entry);
        if (!parsed.success) return parsed.error.issues.forEach((issue) => fail([index, ...issue.path], issue.message));
        for (const p of expandPreset(parsed.data)) {
          probes.push({ ...probeSchema.parse(p), preset: parsed.data.preset });
          origin.push(index);
        }
        return;
      }
      const parsed = probeSchema.safeParse(entry);
      if (!parsed.success) return parsed.error.issues.forEach((issue) => fail([index, ...issue.path], issue.message));
      probes.push(parsed.data);
      origin.push(index);
    });
    const known = new Set<string>();
    const names = new Set<string>();
    probes.forEach((probe, i) => {
      if (names.has(probe.name)) fail([origin[i]!, "name"], `two checks are named "${probe.name}"`);
      names.add(probe.name);
      for (const use of templateNames(probe)) {
        if (use.name === "password") {
          if (!probe.passwordEnv) fail([origin[i]!, ...use.where], "uses {{password}} but this check has no passwordEnv");
          else if (use.where[0] === "url" || use.where[0] === "path") fail([origin[i]!, ...use.where], "a password must not travel in a URL");
        } else if (!known.has(use.name)) {
          fail([origin[i]!, ...use.where], `uses {{${use.name}}} but no earlier check extracts "${use.name}"`);
        }
      }
      for (const name of Object.keys(probe.extract)) known.add(name);
    });
    return probes;
  });

const shellUser = z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a Unix user name");

export const actionSchema = z
  .object({
    description: z.string().max(200).optional(),
    /** Run by bash on the host, from `dir`; the operator's own runbook line. */
    command: z
      .string()
      .min(1)
      .max(4000)
      .refine((c) => !/[\0\r]/.test(c), "must not contain NUL or carriage returns"),
    /** Repo-relative directory to run in (default: the repo). */
    dir: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_.\/-]*$/, "must be a plain repo-relative path")
      .refine((p) => !p.split("/").some((s) => s === ".." || s === "."), "must not contain . or .. segments")
      .optional(),
    /** Run as this user through `sudo -i -u <user> bash -lc …` (seeds/004). */
    runAs: shellUser.optional(),
    /** "one": the operator picks the host (e.g. the one failing its checks); "all": every host. */
    hosts: z.enum(["one", "all"]).default("one"),
    /** Offered on a host card when one of these checks fails on that host (all checks when empty). */
    offerWhenFailing: z.array(z.string().min(1).max(64)).default([]),
    timeoutSeconds: z.number().int().min(10).max(3600).default(300),
  })
  .strict();

export const actionsSchema = z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "action names are lowercase letters, digits, - or _"), actionSchema).default({});

export type ActionConfig = z.output<typeof actionSchema>;

export const targetGroupArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{16}$/, "must be an ELBv2 target group ARN");
