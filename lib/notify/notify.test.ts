import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { summaryText, type DeploySummary } from "./summary";
import { postSummary, WEBHOOK_ENV } from "./webhook";

const summary: DeploySummary = {
  kind: "deploy",
  environment: "sandbox",
  what: "ui",
  outcome: "deployed, checks failed",
  bundleKey: "deployments/acp_ui_1779860999.tar.gz",
  hosts: [
    { name: "EC2 a", instanceId: "i-0aaaaaaaaaaaaaaaa", from: "deployments/acp_ui_1779860735.tar.gz", to: "deployments/acp_ui_1779860999.tar.gz", status: "Success" },
    { name: "EC2 b", instanceId: "i-0bbbbbbbbbbbbbbbb", from: "deployments/acp_ui_1779860735.tar.gz", to: "deployments/acp_ui_1779860999.tar.gz", status: "Success" },
  ],
  checks: [
    { name: "bundle hash", ok: false, problem: "EC2 b (i-0bbbbbbbbbbbbbbbb): serves index-aaaa1111.js, but the bundle deployed has index-bbbb2222.js" },
    { name: "login", ok: true },
  ],
  targets: [
    { instanceId: "i-0aaaaaaaaaaaaaaaa", name: "EC2 a", state: "healthy" },
    { instanceId: "i-0bbbbbbbbbbbbbbbb", name: "EC2 b", state: "unhealthy", reason: "Target.FailedHealthChecks" },
  ],
  rollbackTarget: "deployments/acp_ui_1779860735.tar.gz",
  change: "main@1a2b3c4 (dirty)",
  who: "me@laptop",
};

describe("summary text (seeds/003's template)", () => {
  it("says what, from → to per host, checks, ALB state, rollback target and who", () => {
    expect(summaryText(summary)).toBe(
      [
        "🚀 Deployment: ui → sandbox (deployed, checks failed)",
        "Bundle: deployments/acp_ui_1779860999.tar.gz",
        "EC2 a (i-0aaaaaaaaaaaaaaaa): acp_ui_1779860735.tar.gz → acp_ui_1779860999.tar.gz (Success)",
        "EC2 b (i-0bbbbbbbbbbbbbbbb): acp_ui_1779860735.tar.gz → acp_ui_1779860999.tar.gz (Success)",
        "Health: ❌ 1/2 checks green",
        "  ✗ bundle hash: EC2 b (i-0bbbbbbbbbbbbbbbb): serves index-aaaa1111.js, but the bundle deployed has index-bbbb2222.js",
        "Targets: ❌ 1/2 healthy — EC2 b unhealthy (Target.FailedHealthChecks)",
        "Rollback: deployments/acp_ui_1779860735.tar.gz",
        "Change: main@1a2b3c4 (dirty)",
        "Deployed by: me@laptop",
      ].join("\n"),
    );
  });

  it("writes an action and a green rollback plainly", () => {
    const action = summaryText({ kind: "action", environment: "sandbox", what: "docker-dns-fix", outcome: "succeeded", hosts: [{ ...summary.hosts[0]!, status: "Success" }], who: "me@laptop" });
    expect(action).toBe("🛠 Action: docker-dns-fix → sandbox (succeeded)\nEC2 a (i-0aaaaaaaaaaaaaaaa): Success\nRun by: me@laptop");
    const rollback = summaryText({ ...summary, kind: "rollback", outcome: "succeeded", checks: [{ name: "login", ok: true }], targets: [], rollbackTarget: null });
    expect(rollback).toContain("Health: ✅ 1/1 checks green");
    expect(rollback).toContain("Targets: ✅ 0/0 healthy");
    expect(rollback).toContain("Rollback: no earlier bundle");
  });
});

describe("webhook POST", () => {
  const received: { path: string; type: string; body: unknown }[] = [];
  let status = 200;
  let server: http.Server;
  let url = "";
  beforeAll(async () => {
    server = http.createServer(async (req, res) => {
      let body = "";
      for await (const chunk of req) body += chunk;
      received.push({ path: req.url ?? "", type: String(req.headers["content-type"]), body: JSON.parse(body) });
      res.writeHead(status).end(status === 200 ? "ok" : `invalid_token for ${url}`);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T000/B000/secretpart`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("POSTs Slack-compatible JSON to the URL from the env var", async () => {
    const text = summaryText(summary);
    expect(await postSummary(text, { env: { [WEBHOOK_ENV]: url } })).toEqual({ ok: true, status: 200 });
    expect(received.at(-1)).toEqual({ path: "/services/T000/B000/secretpart", type: "application/json", body: { text } });
  });

  it("returns a failure (never throws) and never shows the webhook URL", async () => {
    status = 403;
    const refused = await postSummary("x", { env: { [WEBHOOK_ENV]: url } });
    expect(refused).toMatchObject({ ok: false, status: 403 });
    expect(JSON.stringify(refused)).not.toContain("secretpart");
    status = 200;
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/hooks/secretpart`;
    await new Promise<void>((r) => closed.close(() => r()));
    const unreachable = await postSummary("x", { env: { [WEBHOOK_ENV]: deadUrl } });
    expect(unreachable).toMatchObject({ ok: false, error: expect.stringMatching(/could not be reached: ECONNREFUSED/) });
    expect(JSON.stringify(unreachable)).not.toContain("secretpart");
    expect(await postSummary("x", { env: {} })).toMatchObject({ ok: false, skipped: true });
    expect(await postSummary("x", { env: { [WEBHOOK_ENV]: "not a url" } })).toMatchObject({ ok: false, error: `${WEBHOOK_ENV} is not a URL` });
  });
});
