import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../config/load";
import { select } from "./jsonpath";
import { runChecks, type ChecksEnvironment } from "./run";

const A = "i-0aaaaaaaaaaaaaaaa";
const B = "i-0bbbbbbbbbbbbbbbb";
const PASSWORD = "s3cret-Pa$$\"word";

// A loopback stand-in for an ALB over two hosts: alternates, tags each answer with x-deckhand-host.
type Handler = (req: http.IncomingMessage, body: string, host: string) => { status: number; body: string | Buffer; type?: string } | "hang";
let handler: Handler = () => ({ status: 200, body: "ok" });
let turn = 0;
let server: http.Server;
let base = "";
beforeAll(async () => {
  server = http.createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    const host = turn++ % 2 === 0 ? A : B;
    const answer = handler(req, body, host);
    if (answer === "hang") return;
    res.writeHead(answer.status, { "content-type": answer.type ?? "application/json", "x-deckhand-host": host });
    res.end(answer.body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));

function environment(checks: unknown[]): ChecksEnvironment {
  const config = parseConfig(
    {
      repo: ".",
      environments: {
        t: {
          region: "ap-south-1",
          bucket: "deckhand-test",
          hosts: [{ instanceId: A, name: "EC2 a" }, { instanceId: B, name: "EC2 b" }],
          repoPath: "/srv/app",
          baseUrl: base,
          checks,
        },
      },
      services: { ui: { paths: ["ui/dist"] } },
    },
    "/t/deckhand.config.json",
  );
  return config.environments.t!;
}

const fast = { tries: 3, backoffMs: 20, timeoutMs: 1000 };
const aegisServer: Handler = (req, body, host) => {
  const auth = req.headers.authorization;
  switch (req.url) {
    case "/":
      return { status: 200, type: "text/html", body: `<script src="/assets/index-${host === B ? "old11111" : "new22222"}.js"></script>` };
    case "/auth/token": {
      const { password } = JSON.parse(body);
      if (password !== PASSWORD) return { status: 401, body: JSON.stringify({ error: "bad password", got: password }) };
      return { status: 200, body: JSON.stringify({ access_token: "tok-abcdef123456", echo: password }) };
    }
    case "/system/health":
      if (auth !== "Bearer tok-abcdef123456") return { status: 401, body: JSON.stringify({ error: `bad auth ${auth}` }) };
      return { status: 200, body: JSON.stringify({ data: { services: [{ name: "gateway", status: "healthy" }, { name: "audit", status: host === A ? "unhealthy" : "healthy" }] } }) };
    case "/audit/logs/verify":
      return { status: 200, body: JSON.stringify({ data: { valid: true } }) };
    default:
      return { status: 404, body: "{}" };
  }
};

describe("json paths", () => {
  it("selects through arrays and object values with concrete paths", () => {
    const doc = { data: { services: [{ status: "healthy" }, { status: "down" }], map: { a: { ok: true }, b: { ok: false } } } };
    expect(select(doc, "data.services[*].status")).toEqual([
      { path: "data.services[0].status", value: "healthy" },
      { path: "data.services[1].status", value: "down" },
    ]);
    expect(select(doc, "data.map.*.ok").map((s) => s.path)).toEqual(["data.map.a.ok", "data.map.b.ok"]);
    expect(select(doc, "data.services[1]")).toEqual([{ path: "data.services[1]", value: { status: "down" } }]);
    expect(select(doc, "data.nope[*].x")).toEqual([]);
  });
});

describe("runChecks against a loopback ALB", () => {
  it("retries with backoff until every host answered well", async () => {
    let calls = 0;
    handler = () => (++calls <= 2 ? { status: 503, body: "warming up" } : { status: 200, body: "{}" });
    const started = Date.now();
    const [result] = await runChecks(environment([{ name: "live", path: "/health/live", ...fast, backoffMs: 50 }]));
    expect(result).toMatchObject({ name: "live", ok: true, attempts: 4, status: 200, failingHosts: [], problem: null });
    expect(Date.now() - started).toBeGreaterThanOrEqual(50 + 100); // two pauses: 50 then 100 ms
    expect(result!.hosts.map((h) => [h.hostName, h.ok])).toEqual([["EC2 a", true], ["EC2 b", true]]);
  });

  it("goes red after its tries, naming the host and keeping the last answer", async () => {
    handler = (_req, _body, host) => (host === A ? { status: 502, body: "<h1>502 Bad Gateway</h1>" } : { status: 200, body: "{}" });
    const [result] = await runChecks(environment([{ name: "live", path: "/health/live", ...fast }]));
    expect(result).toMatchObject({ ok: false, failingHosts: [A], status: expect.any(Number) });
    expect(result!.problem).toBe(`EC2 a (${A}): HTTP 502, expected 200`);
    expect(result!.hosts.find((h) => h.instanceId === A)).toMatchObject({ ok: false, status: 502, excerpt: "<h1>502 Bad Gateway</h1>" });
    expect(result!.attempts).toBeLessThanOrEqual(6);
  });

  it("runs the aegis-smoke preset: bundle hash per host, token passing, JSON expectations, password redacted", async () => {
    handler = aegisServer;
    const results = await runChecks(environment([{ preset: "aegis-smoke", passwordEnv: "TEST_PROBE_PASSWORD", ...fast }]), {
      bundleManifest: { files: [{ path: "ui/dist/index.html" }, { path: "ui/dist/assets/index-new22222.js" }] },
      env: { TEST_PROBE_PASSWORD: PASSWORD },
    });
    const byName = Object.fromEntries(results.map((r) => [r.name, r]));
    expect(byName["bundle hash"]).toMatchObject({ ok: false, failingHosts: [B], expectedIndexJs: "index-new22222.js" });
    expect(byName["bundle hash"]!.problem).toBe(`EC2 b (${B}): serves index-old11111.js, but the bundle deployed has index-new22222.js`);
    expect(byName["bundle hash"]!.hosts.map((h) => h.servedIndexJs)).toEqual(["index-new22222.js", "index-old11111.js"]);
    expect(byName.login).toMatchObject({ ok: true, failingHosts: [] });
    expect(byName["system health"]).toMatchObject({ ok: false, failingHosts: [A] });
    expect(byName["system health"]!.problem).toBe(`EC2 a (${A}): data.services[1].status is "unhealthy", expected "healthy"`);
    expect(byName["audit chain"]).toMatchObject({ ok: true });
    const text = JSON.stringify(results);
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(JSON.stringify(PASSWORD).slice(1, -1));
    expect(text).not.toContain("tok-abcdef123456");
    expect(byName.login!.excerpt).toContain("[redacted]");
  });

  it("redacts the password from a failing login's answer and skips the checks that need its token", async () => {
    handler = aegisServer;
    const results = await runChecks(environment([{ preset: "aegis-smoke", passwordEnv: "TEST_PROBE_PASSWORD", ...fast, tries: 2 }]), {
      env: { TEST_PROBE_PASSWORD: "wrong-" + PASSWORD },
    });
    const login = results.find((r) => r.name === "login")!;
    expect(login).toMatchObject({ ok: false, status: 401 });
    expect(login.excerpt).toContain('"got":"[redacted]"');
    expect(JSON.stringify(results)).not.toContain("wrong-s3cret");
    expect(results.find((r) => r.name === "system health")).toMatchObject({ ok: false, skipped: true, attempts: 0, problem: "not run: needs {{token}} from an earlier check that failed" });
    // Without expected bundle, the bundle-hash check still names the disagreement between hosts.
    expect(results.find((r) => r.name === "bundle hash")!.problem).toMatch(/^hosts serve different bundles: EC2 a index-new22222\.js, EC2 b index-old11111\.js$/);
  });

  it("does not run a probe whose password variable is unset", async () => {
    const [, login] = await runChecks(environment([{ preset: "aegis-smoke", passwordEnv: "TEST_PROBE_PASSWORD_UNSET", ...fast }]), { env: {} });
    expect(login).toMatchObject({ ok: false, skipped: true, problem: "not run: the environment variable TEST_PROBE_PASSWORD_UNSET is not set" });
  });

  it("times out a host that does not answer and reads a huge answer only up to its bound", async () => {
    handler = (_req, _body, host) => (host === A ? "hang" : { status: 200, type: "text/plain", body: Buffer.alloc(8 * 1024 * 1024, "x") });
    const [result] = await runChecks(environment([{ name: "slow", path: "/", tries: 1, backoffMs: 0, timeoutMs: 200 }]));
    expect(result!.ok).toBe(false);
    expect(result!.hosts.find((h) => h.instanceId === null || h.instanceId === A)!.problem).toBe("request failed: no answer within 200 ms");
    const [big] = await runChecks(environment([{ name: "big", path: "/", tries: 1, backoffMs: 0, timeoutMs: 2000 }]), { maxBodyBytes: 64 * 1024 });
    expect(big!.hosts.find((h) => h.instanceId === B)).toMatchObject({ ok: true, excerpt: "x".repeat(300) });
  });

  it("without host tags (a plain load balancer) needs as many passes in a row as there are hosts", async () => {
    const plain = http.createServer((_req, res) => res.writeHead(turn++ % 2 === 0 ? 200 : 500).end("{}"));
    await new Promise<void>((r) => plain.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(plain.address() as AddressInfo).port}/x`;
      const [flaky] = await runChecks(environment([{ name: "flaky", url, ...fast }]));
      expect(flaky).toMatchObject({ ok: false, failingHosts: [], instanceId: null });
      expect(flaky!.problem).toBe("HTTP 500, expected 200"); // no host to name
      turn = 0;
      const always = http.createServer((_req, res) => res.end("{}"));
      await new Promise<void>((r) => always.listen(0, "127.0.0.1", r));
      const [steady] = await runChecks(environment([{ name: "steady", url: `http://127.0.0.1:${(always.address() as AddressInfo).port}/`, ...fast }]));
      always.close();
      expect(steady).toMatchObject({ ok: true, attempts: 2 });
    } finally {
      plain.close();
    }
  });

  it("reports a refused connection as a failed request, not a throw", async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const env = environment([{ name: "down", url: `http://127.0.0.1:${port}/`, tries: 2, backoffMs: 0, timeoutMs: 500 }]);
    const [result] = await runChecks(env);
    expect(result).toMatchObject({ ok: false, attempts: 2, status: null });
    expect(result!.problem).toMatch(/^request failed: ECONNREFUSED/);
  });
});
