import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { expect, test, type Page } from "@playwright/test";

// Live output pushed over Server-Sent Events (issue 11), polling only as the fallback, and output
// that loads in pages and renders virtualised. Each journey relies only on what it makes itself.

/** Records every EventSource the page opens and every event it receives, before any page script runs. */
async function recordEventSources(page: Page) {
  await page.addInitScript(() => {
    const Native = window.EventSource;
    const log = { opened: [] as string[], events: [] as { type: string; at: number; data: string }[] };
    (window as unknown as { __sse: typeof log }).__sse = log;
    window.EventSource = class extends Native {
      constructor(url: string | URL, init?: EventSourceInit) {
        super(url, init);
        log.opened.push(String(url));
        for (const type of ["output", "deploy", "end"]) this.addEventListener(type, (event) => log.events.push({ type, at: Date.now(), data: (event as MessageEvent<string>).data }));
      }
    };
  });
}

const sseLog = (page: Page) => page.evaluate(() => (window as unknown as { __sse: { opened: string[]; events: { type: string; at: number; data: string }[] } }).__sse);

async function setFault(page: Page, host: "EC2 a" | "EC2 b", fault: string, on: boolean) {
  await page.goto("/");
  const box = page.getByRole("checkbox", { name: `${fault} on ${host}` });
  await (on ? box.check() : box.uncheck());
  await expect(box).toBeChecked({ checked: on });
}

async function startDeploy(page: Page, service: string): Promise<string> {
  await page.goto("/");
  await page.getByRole("checkbox", { name: new RegExp(`^${service}\\b`) }).check();
  await page.getByRole("button", { name: "Deploy", exact: true }).click();
  await expect(page).toHaveURL(/\/deploys\//);
  return decodeURIComponent(new URL(page.url()).pathname.split("/").pop()!);
}

test("lines reach an open deploy page over the event stream, not by polling", async ({ page }) => {
  await recordEventSources(page);
  await setFault(page, "EC2 a", "slow", true); // steps seconds apart: lines arrive while the page is open
  try {
    const deployRequests: string[] = [];
    page.on("request", (request) => {
      const url = new URL(request.url());
      if (/^\/api\/deploys\/[^/]+$/.test(url.pathname)) deployRequests.push(url.pathname);
    });
    const id = await startDeploy(page, "audit");
    const startedAt = Date.now();
    await expect(page.getByTestId("deploy-status")).toHaveText("succeeded", { timeout: 90_000 });
    const took = Date.now() - startedAt;

    const log = await sseLog(page);
    expect(log.opened.some((url) => new RegExp(`/api/deploys/${id}/events\\?after=\\d+&token=`).test(url)), `EventSources opened: ${log.opened.join(", ")}`).toBe(true);
    const outputs = log.events.filter((e) => e.type === "output");
    const pushed = outputs.flatMap((e) => (JSON.parse(e.data) as { chunks: { text: string; stream: string }[] }).chunks);
    // The slowed host's steps came as separate pushes, seconds apart, while the page was open.
    expect(pushed.some((c) => /^==> docker compose build .*audit/.test(c.text))).toBe(true);
    expect(pushed.some((c) => /^==> done/.test(c.text)), `pushed: ${pushed.map((c) => c.text).join(" | ")}`).toBe(true);
    expect(outputs.length, "output events").toBeGreaterThanOrEqual(3);
    expect(outputs.at(-1)!.at - outputs[0].at, "spread of the pushes").toBeGreaterThan(2_000);
    // Status changes came as events too.
    expect(log.events.filter((e) => e.type === "deploy").some((e) => (JSON.parse(e.data) as { status: string }).status === "succeeded")).toBe(true);
    // And what was pushed is what the page shows.
    const hostA = page.locator('[data-testid^="host-panel-"]').filter({ hasText: "EC2 a" });
    await expect(hostA.locator('[data-testid^="host-output-"][role="region"]')).toContainText("==> done");
    // Polling would be one request a second for the whole deploy; the stream leaves the first load (and at most a couple while it connects).
    expect(took).toBeGreaterThan(8_000);
    expect(deployRequests.length, `GET /api/deploys/${id} during a ${took} ms deploy`).toBeLessThanOrEqual(3);
    await expect(page.getByTestId("live-fallback")).toHaveCount(0);
  } finally {
    await setFault(page, "EC2 a", "slow", false);
  }
});

test("when the stream cannot connect, the page says so and polls", async ({ page }) => {
  await page.route("**/api/deploys/*/events?**", (route) => route.abort());
  await startDeploy(page, "audit");
  await expect(page.getByTestId("live-fallback")).toHaveText(/Live updates interrupted: refreshing every second/);
  await expect(page.getByTestId("deploy-status")).toHaveText("succeeded", { timeout: 90_000 });
  const hostA = page.locator('[data-testid^="host-panel-"]').filter({ hasText: "EC2 a" });
  await expect(hostA.locator('[data-testid^="host-output-"][role="region"]')).toContainText("==> done");
  await expect(page.getByTestId("live-fallback")).toHaveCount(0); // an ended deploy needs neither
});

/** Writes a finished deploy straight into the panel's history: one host with 100,000 lines of final output, one with 5,000 live lines. */
function seedBigDeploy(): { id: string; a: string; b: string } {
  const file = path.join(process.env.E2E_RUN_DIR!, "history.db");
  expect(fs.existsSync(file), `the panel's history at ${file}`).toBe(true);
  const db = new Database(file, { timeout: 10_000 });
  const id = `seeded-100k-${Date.now()}`;
  const a = "i-0aaaaaaaaaaaaaaaa";
  const b = "i-0bbbbbbbbbbbbbbbb";
  const at = new Date().toISOString().replace("Z", "+00:00");
  try {
    db.transaction(() => {
      db.prepare(`INSERT INTO Deploy (id, environment, kind, services, label, bundleKey, bundleBucket, script, status, createdBy, createdAt, finishedAt) VALUES (?, 'sandbox', 'deploy', '["audit"]', 'audit', 'deployments/acp_audit_seeded.tar.gz', 'deckhand-sandbox-deploys', '', 'failed', 'e2e seed', ?, ?)`).run(id, at, at);
      const run = db.prepare(`INSERT INTO HostRun (id, deployId, attempt, commandId, instanceId, hostName, status, responseCode, stdout, stderr, startedAt, finishedAt) VALUES (?, ?, 1, 'seeded', ?, ?, 'Failed', 1, ?, '', ?, ?)`);
      run.run(`${id}-1-${a}`, id, a, "EC2 a", `${Array.from({ length: 100_000 }, (_, i) => `l${i}`).join("\n")}\n`, at, at);
      run.run(`${id}-1-${b}`, id, b, "EC2 b", "", at, at);
      const chunk = db.prepare(`INSERT INTO OutputChunk (hostRunId, stream, text, at) VALUES (?, 'stdout', ?, ?)`);
      for (let i = 0; i < 5_000; i++) chunk.run(`${id}-1-${b}`, `chunk ${i}`, at);
    })();
  } finally {
    db.close();
  }
  return { id, a, b };
}

test("100,000 lines scroll with a bounded number of rows in the page; older live lines load in pages", async ({ page }) => {
  const { id, a, b } = seedBigDeploy();
  await page.goto(`/deploys/${id}`);
  const paneA = page.getByTestId(`host-output-${a}`);
  await expect(paneA).toHaveAttribute("data-lines", "100000");
  await expect(paneA.locator("[data-stream]").last()).toHaveText("l99999"); // follows the tail

  const rows = () => paneA.locator("[data-stream]").count();
  expect(await rows()).toBeLessThanOrEqual(100);
  for (const fraction of [0, 0.25, 0.5, 0.75, 0.999]) {
    const step = await paneA.evaluate(async (el, f) => {
      const started = performance.now();
      el.scrollTop = f * (el.scrollHeight - el.clientHeight);
      el.dispatchEvent(new Event("scroll"));
      await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
      const visible = [...el.querySelectorAll("[data-stream]")].filter((row) => {
        const r = row.getBoundingClientRect();
        const p = el.getBoundingClientRect();
        return r.bottom > p.top && r.top < p.bottom;
      });
      return { ms: performance.now() - started, first: Number((visible[0]?.textContent ?? "").replace(/^l/, "")), rows: el.querySelectorAll("[data-stream]").length };
    }, fraction);
    expect(step.rows, `rows in the DOM at ${fraction}`).toBeLessThanOrEqual(100);
    expect(Math.abs(step.first - fraction * 100_000), `first visible line at ${fraction}: l${step.first}`).toBeLessThan(2_000);
    expect(step.ms, `render after a scroll to ${fraction}`).toBeLessThan(500);
  }
  await paneA.evaluate((el) => {
    el.scrollTop = 0;
    el.dispatchEvent(new Event("scroll"));
  });
  await expect(paneA.locator("[data-stream]").first()).toHaveText("l0");

  // EC2 b: the page loaded its newest 2,000 live lines; the rest come a page at a time.
  const paneB = page.getByTestId(`host-output-${b}`);
  await expect(paneB).toHaveAttribute("data-lines", "2000");
  const earlier = page.getByTestId(`earlier-lines-${b}`);
  await expect(earlier).toHaveText("Load earlier lines (3,000 more)");
  await earlier.click();
  await expect(paneB).toHaveAttribute("data-lines", "4000");
  await expect(earlier).toHaveText("Load earlier lines (1,000 more)");
  await earlier.click();
  await expect(paneB).toHaveAttribute("data-lines", "5000");
  await expect(earlier).toHaveCount(0);
  expect(await paneB.locator("[data-stream]").count()).toBeLessThanOrEqual(100);
  await paneB.evaluate((el) => {
    el.scrollTop = 0;
    el.dispatchEvent(new Event("scroll"));
  });
  await expect(paneB.locator("[data-stream]").first()).toHaveText("chunk 0");
});

test("the event stream needs this launch's panel token, as every API route does", async ({ page, request }) => {
  await page.goto("/");
  const token = await page.locator('meta[name="deckhand-token"]').getAttribute("content");
  expect(token).toBeTruthy();
  expect((await request.get("/api/deploys/no-such-deploy/events")).status()).toBe(403);
  expect((await request.get(`/api/deploys/no-such-deploy/events?token=${"x".repeat(token!.length)}`)).status()).toBe(403);
  expect((await request.get(`/api/deploys/no-such-deploy?token=${encodeURIComponent(token!)}`)).status()).toBe(403); // only the stream takes it in the query
  const withToken = await request.get(`/api/deploys/no-such-deploy/events?token=${encodeURIComponent(token!)}`);
  expect(withToken.status()).toBe(404);
  expect((await withToken.json()).error).toBe("No deploy no-such-deploy.");
});
