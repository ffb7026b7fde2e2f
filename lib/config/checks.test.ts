import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "./load";

const base = {
  repo: ".",
  environments: {
    prod: {
      region: "ap-south-1",
      bucket: "acp-fix-1779860735",
      hosts: [{ instanceId: "i-0123456789abcdef0", name: "EC2 a" }],
      repoPath: "/home/ubuntu/aegis",
      baseUrl: "https://aegisagent.in",
    } as Record<string, unknown>,
  },
  services: { ui: { paths: ["ui/dist"], compose: ["ui"] } },
};

function withEnv(extra: Record<string, unknown>) {
  const config = structuredClone(base);
  Object.assign(config.environments.prod, extra);
  return config;
}

function problems(raw: unknown): string[] {
  try {
    parseConfig(raw, "/x/deckhand.config.json");
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message.replace("/x/deckhand.config.json: ", "").split("; ");
  }
  throw new Error("expected a ConfigError");
}

describe("checks in the config", () => {
  it("has no checks and no actions by default", () => {
    const env = parseConfig(base, "/x/c.json").environments.prod;
    expect(env.checks).toEqual([]);
    expect(env.actions).toEqual({});
  });

  it("expands the aegis-smoke preset into seeds/000's four probes with token passing", () => {
    const env = parseConfig(withEnv({ checks: [{ preset: "aegis-smoke", passwordEnv: "AEGIS_PROBE_PASSWORD", tries: 3 }] }), "/x/c.json").environments.prod;
    expect(env.checks.map((c) => [c.name, c.method, c.path])).toEqual([
      ["bundle hash", "GET", "/"],
      ["login", "POST", "/auth/token"],
      ["system health", "GET", "/system/health"],
      ["audit chain", "GET", "/audit/logs/verify"],
    ]);
    const [hash, login, health, audit] = env.checks;
    expect(hash!.bundleHash).toBe(true);
    expect(login).toMatchObject({
      passwordEnv: "AEGIS_PROBE_PASSWORD",
      json: { email: "admin@acp.local", password: "{{password}}" },
      headers: { "X-Tenant-ID": "00000000-0000-0000-0000-000000000001" },
      extract: { token: "access_token" },
      tries: 3,
      preset: "aegis-smoke",
    });
    expect(health!.headers.Authorization).toBe("Bearer {{token}}");
    expect(health!.expect).toEqual([{ path: "data.services[*].status", equals: "healthy" }]);
    expect(audit!.expect).toEqual([{ path: "data.valid", equals: true }]);
    // The config holds the variable's name, never a password.
    expect(JSON.stringify(env)).not.toMatch(/"password":"(?!\{\{password\}\})/);
  });

  it("expands live-ready into seeds/003's pair with defaults of 5 tries and backoff", () => {
    const env = parseConfig(withEnv({ checks: [{ preset: "live-ready" }] }), "/x/c.json").environments.prod;
    expect(env.checks).toEqual([
      expect.objectContaining({ name: "live", path: "/health/live", expectStatus: [200], tries: 5, backoffMs: 1000, timeoutMs: 5000 }),
      expect.objectContaining({ name: "ready", path: "/health/ready", expect: [{ path: "ok", equals: true }, { path: "checks[*].ok", equals: true }] }),
    ]);
  });

  it("accepts a custom probe with method, headers, JSON body, status list and expectations", () => {
    const env = parseConfig(
      withEnv({
        checks: [
          { name: "api", method: "POST", url: "https://api.example.com/ping", headers: { "X-A": "1" }, json: { a: [1] }, expectStatus: [200, 204], expect: [{ path: "items[0].id", exists: true }, { path: "state", oneOf: ["ok", "warm"] }] },
        ],
      }),
      "/x/c.json",
    ).environments.prod;
    expect(env.checks[0]).toMatchObject({ expectStatus: [200, 204], method: "POST", tries: 5 });
  });

  it("names the field of every checks problem", () => {
    const found = problems(
      withEnv({
        checks: [
          { preset: "aegis-smoke" },
          { preset: "smoke-everything" },
          { name: "no target" },
          { name: "both", path: "/a", url: "https://x.example/a" },
          { name: "bad path", path: "/x", expect: [{ path: "a..b", equals: 1 }] },
          { name: "two ops", path: "/y", expect: [{ path: "a", equals: 1, exists: true }] },
          { name: "uses token", path: "/z", headers: { Authorization: "Bearer {{token}}" } },
          { name: "pw without env", path: "/p", json: { password: "{{password}}" } },
          { name: "pw literal", path: "/q", passwordEnv: "hunter2 is my password" },
          { name: "header", path: "/h", headers: { "X-A": "a\r\nInjected: 1" } },
          { name: "uses token", path: "/dup" },
          { name: "pw in url", path: "/login?pw={{password}}", passwordEnv: "PW" },
        ],
      }),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^environments\.prod\.checks\[0\]\.passwordEnv: /),
        'environments.prod.checks[1].preset: unknown preset "smoke-everything" (known: aegis-smoke, live-ready)',
        "environments.prod.checks[2]: needs exactly one of url or path",
        "environments.prod.checks[3]: needs exactly one of url or path",
        expect.stringMatching(/^environments\.prod\.checks\[4\]\.expect\[0\]\.path: must be a JSON path/),
        "environments.prod.checks[5].expect[0]: needs exactly one of equals, oneOf, exists",
        'environments.prod.checks[6].headers.Authorization: uses {{token}} but no earlier check extracts "token"',
        "environments.prod.checks[7].json.password: uses {{password}} but this check has no passwordEnv",
        expect.stringMatching(/^environments\.prod\.checks\[8\]\.passwordEnv: must be the NAME of an environment variable/),
        "environments.prod.checks[9].headers.X-A: must not contain line breaks",
        'environments.prod.checks[10].name: two checks are named "uses token"',
        "environments.prod.checks[11].path: a password must not travel in a URL",
      ]),
    );
  });

  it("needs a baseUrl (or albUrl) for paths, and accepts an ELB target group ARN", () => {
    const noBase = withEnv({ checks: [{ preset: "live-ready" }] });
    delete noBase.environments.prod.baseUrl;
    expect(problems(noBase)).toEqual(['environments.prod.baseUrl: check "live" uses a path, so baseUrl (or albUrl) is needed']);
    const arn = "arn:aws:elasticloadbalancing:ap-south-1:123456789012:targetgroup/acp-tg/0123456789abcdef";
    expect(parseConfig(withEnv({ targetGroupArn: arn }), "/x/c.json").environments.prod.targetGroupArn).toBe(arn);
    expect(problems(withEnv({ targetGroupArn: "acp-tg" }))).toEqual([expect.stringMatching(/^environments\.prod\.targetGroupArn: must be an ELBv2 target group ARN/)]);
  });
});

describe("runbook actions in the config", () => {
  const dnsFix = { description: "Docker DNS fix (seeds/000)", command: "docker compose up -d --force-recreate gateway ui", dir: "infra", offerWhenFailing: ["system health"] };

  it("parses an action with defaults (one host, 300 s)", () => {
    const env = parseConfig(withEnv({ checks: [{ preset: "aegis-smoke", passwordEnv: "PW" }], actions: { "docker-dns-fix": dnsFix, redeploy: { command: "./scripts/04-redeploy.sh", runAs: "ubuntu", hosts: "all" } } }), "/x/c.json").environments.prod;
    expect(env.actions["docker-dns-fix"]).toEqual({ ...dnsFix, hosts: "one", timeoutSeconds: 300 });
    expect(env.actions.redeploy).toMatchObject({ runAs: "ubuntu", hosts: "all", offerWhenFailing: [] });
  });

  it("names the field of every action problem", () => {
    const found = problems(
      withEnv({
        actions: {
          "Bad Name": { command: "true" },
          fix: { ...dnsFix, runAs: "root; id", dir: "../etc", hosts: "some", offerWhenFailing: ["nope"] },
          empty: { command: "" },
          cr: { command: "a\rb" },
        },
      }),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^environments\.prod\.actions\.Bad Name: /),
        "environments.prod.actions.fix.runAs: must be a Unix user name",
        expect.stringMatching(/^environments\.prod\.actions\.fix\.dir: /),
        expect.stringMatching(/^environments\.prod\.actions\.fix\.hosts: /),
        expect.stringMatching(/^environments\.prod\.actions\.empty\.command: /),
        "environments.prod.actions.cr.command: must not contain NUL or carriage returns",
      ]),
    );
    const unknownCheck = problems(withEnv({ actions: { fix: dnsFix } }));
    expect(unknownCheck).toEqual(['environments.prod.actions.fix.offerWhenFailing[0]: no check is named "system health"']);
  });
});
