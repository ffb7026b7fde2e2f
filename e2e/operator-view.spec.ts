import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Locator, type Page } from "@playwright/test";

// The operator's view (issue 13). These journeys share one server with the other specs: each one
// relies only on what it deploys itself, and switches off the faults it switches on.

async function setFault(page: Page, host: "EC2 a" | "EC2 b", fault: string, on: boolean) {
  await page.goto("/");
  const box = page.getByRole("checkbox", { name: `${fault} on ${host}` });
  await (on ? box.check() : box.uncheck());
  await expect(box).toBeChecked({ checked: on });
}

async function deploy(page: Page, services: string[], waitFor: string | null = "succeeded"): Promise<string> {
  await page.goto("/");
  for (const service of services) await page.getByRole("checkbox", { name: new RegExp(`^${service}\\b`) }).check();
  await page.getByRole("button", { name: "Deploy", exact: true }).click();
  await expect(page).toHaveURL(/\/deploys\//);
  if (waitFor) await expect(page.getByTestId("deploy-status")).toHaveText(waitFor, { timeout: 90_000 });
  return page.url();
}

const fileNameIn = async (page: Page) => /acp_[a-z]+_\d+\.tar\.gz/.exec(await page.getByTestId("bundle-key").innerText())![0];

/** The lines of one host's output pane: [stream, text]. */
async function paneLines(pane: Locator): Promise<[string, string][]> {
  return pane.locator("[data-stream]").evaluateAll((rows) => rows.map((r) => [r.getAttribute("data-stream") ?? "", (r.textContent ?? "").replace(/^stderr: /, "").replace(/^[›·]/, "")] as [string, string]));
}

test("a multi-service bundle lists both services, and gateway is redeployed from it", async ({ page }) => {
  await deploy(page, ["audit", "gateway"]);
  const multi = await fileNameIn(page);
  expect(multi).toMatch(/^acp_multi_/);
  await deploy(page, ["gateway"]); // gateway moves on; audit stays on the multi bundle

  await page.getByRole("link", { name: "Bundles" }).click();
  const row = page.getByTestId("bundle-row").filter({ hasText: multi });
  await expect(row.getByTestId("bundle-services")).toHaveText("audit, gateway");
  await expect(row.getByTestId("bundle-first-deploy")).toContainText("deploy of audit, gateway");
  await expect(row.getByTestId("bundle-live-on")).toContainText("(audit)");
  await expect(row.getByTestId("bundle-never-sent")).toHaveCount(0);

  await row.getByRole("button", { name: /Deploy this bundle/ }).click();
  const dialog = page.getByRole("dialog");
  await expect(dialog.getByRole("checkbox", { name: "audit" })).not.toBeChecked(); // already live from it everywhere
  await expect(dialog.getByRole("checkbox", { name: "gateway" })).toBeChecked();
  await expect(dialog.getByTestId("redeploy-changes")).toContainText("gateway");
  await dialog.getByRole("button", { name: "Confirm deploy" }).click();

  await expect(page).toHaveURL(/\/deploys\//);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Redeploy of gateway to sandbox");
  await expect(page.getByTestId("deploy-status")).toHaveText("succeeded", { timeout: 90_000 });
  await expect(page.getByTestId("bundle-key")).toContainText(multi);
  // A rollback/redeploy has no build or upload phase.
  await expect(page.getByTestId("stepper").locator("li")).toHaveText([/Send \(SSM\).*done/, /Run on hosts.*done/, /Verify.*done/]);

  await page.getByRole("link", { name: "Bundles" }).click();
  const after = page.getByTestId("bundle-row").filter({ hasText: multi });
  await expect(after.getByTestId("bundle-services")).toHaveText("audit, gateway");
  await expect(after.getByTestId("bundle-last-deploy")).toContainText("redeploy of gateway");
  await expect(after.getByTestId("bundle-live-on")).toContainText("(audit, gateway)");
});

test("output comes in printed order, stderr marked not red, and the pane does not jump while scrolled up", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await setFault(page, "EC2 a", "slow", true);
  try {
    await deploy(page, ["audit", "gateway"], null);
    const hostA = page.locator('[data-testid^="host-panel-"]').filter({ hasText: "EC2 a" });
    const pane = hostA.locator('[data-testid^="host-output-"][role="region"]');
    await expect(hostA.getByText(/times out at \d\d:\d\d:\d\d/)).toBeVisible();
    // Wait until the output overflows the pane, then read from the top.
    await expect.poll(() => pane.evaluate((el) => el.scrollHeight - el.clientHeight), { timeout: 60_000, message: "EC2 a output to overflow its pane" }).toBeGreaterThan(40);
    await pane.evaluate((el) => {
      el.scrollTop = 0;
      el.dispatchEvent(new Event("scroll"));
    });
    const before = (await paneLines(pane)).length;
    await expect.poll(async () => (await paneLines(pane)).length, { timeout: 60_000, message: "more output from EC2 a" }).toBeGreaterThan(before);
    expect(await pane.evaluate((el) => el.scrollTop)).toBeLessThan(4);
    await expect(pane).toHaveAttribute("data-following", "no");
    const jump = hostA.getByRole("button", { name: /Jump to latest/ });
    await expect(jump).toBeVisible();
    await jump.click();
    await expect(pane).toHaveAttribute("data-following", "yes");
    expect(await pane.evaluate((el) => el.scrollHeight - el.clientHeight - el.scrollTop)).toBeLessThan(30);

    await expect(page.getByTestId("deploy-status")).toHaveText("succeeded", { timeout: 90_000 });
    // CloudWatch Logs delivers stdout and stderr as separate streams in ~1 s batches, so printed order
    // is only observable where steps are seconds apart: on the slowed host.
    {
      const lines = await paneLines(pane);
      const index = (pattern: RegExp) => lines.findIndex(([, text]) => pattern.test(text));
      const stderrIndex = (pattern: RegExp) => lines.findIndex(([stream, text]) => stream === "stderr" && pattern.test(text));
      const buildAudit = index(/^==> docker compose build .*audit/);
      const builtAudit = stderrIndex(/audit\s+Built/);
      const buildGateway = index(/^==> docker compose build .*gateway/);
      const builtGateway = stderrIndex(/gateway\s+Built/);
      const done = index(/^==> done/);
      expect(buildAudit, "build step printed").toBeGreaterThanOrEqual(0);
      // docker's stderr sits with its own step, not all after the end as SSM's final output would put it.
      expect(builtAudit).toBeGreaterThan(buildAudit);
      expect(buildGateway).toBeGreaterThan(builtAudit);
      expect(builtGateway).toBeGreaterThan(buildGateway);
      // "==> done" and the last step's docker lines can share one ~1 s CloudWatch batch (stdout and stderr are
      // separate streams): their order inside it is not knowable, so only "done is last on stdout" is asserted.
      expect(done).toBeGreaterThan(buildGateway);
    }
    // stderr is marked in the margin and keeps the ordinary text colour.
    const colours = await pane.evaluate((el) => {
      const colour = (stream: string) => getComputedStyle(el.querySelector(`[data-stream="${stream}"] > span:last-child`)!).color;
      return { stdout: colour("stdout"), stderr: colour("stderr"), mark: el.querySelector('[data-stream="stderr"] > span')!.textContent };
    });
    expect(colours.stderr).toBe(colours.stdout);
    expect(colours.mark).toBe("›");
    await expect(page.getByTestId("host-summaries")).toContainText("succeeded");

    // Wrap toggle, download and copy of one host's output.
    expect(await pane.locator('[data-stream] > span:last-child').first().evaluate((el) => getComputedStyle(el).whiteSpace)).toBe("pre-wrap");
    await hostA.getByRole("checkbox", { name: "Wrap lines" }).uncheck();
    expect(await pane.locator('[data-stream] > span:last-child').first().evaluate((el) => getComputedStyle(el).whiteSpace)).toBe("pre");
    const [download] = await Promise.all([page.waitForEvent("download"), hostA.getByRole("button", { name: "Download output of EC2 a" }).click()]);
    const saved = await download.path();
    const text = (await import("node:fs")).readFileSync(saved!, "utf8");
    expect(text).toMatch(/==> download [\s\S]*\[stderr\] .*audit\s+Built[\s\S]*==> done/);
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
    await hostA.getByRole("button", { name: "Copy output of EC2 a" }).click();
    await expect(hostA.getByRole("status")).toHaveText("copied");
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(text);
  } finally {
    await setFault(page, "EC2 a", "slow", false);
  }
});

test("a running deploy shows as a banner on every page and blocks Deploy; cancel asks first and then explains each host", async ({ page }) => {
  await setFault(page, "EC2 a", "slow", true);
  await setFault(page, "EC2 b", "slow", true);
  try {
    const url = await deploy(page, ["gateway"], "running");
    for (const path of ["/", "/history", "/bundles"]) {
      await page.goto(path);
      await expect(page.getByTestId("active-banner")).toContainText("Deploy of gateway to sandbox");
    }
    await page.goto("/");
    await expect(page.getByTestId("deploy-button-sandbox")).toBeDisabled();
    await expect(page.getByTestId("deploy-blocked-sandbox")).toContainText("one deploy at a time");
    await page.getByTestId("active-banner").getByRole("link", { name: /Watch the deploy of gateway/ }).click();
    await expect(page).toHaveURL(url);
    await expect(page.getByTestId("deploy-elapsed")).toContainText(/elapsed \d+:\d\d/);

    // Cancel once both hosts have replaced files and are building the image.
    for (const panel of await page.locator('[data-testid^="host-panel-"]').all()) {
      await expect(panel).toContainText("==> docker compose build", { timeout: 60_000 });
    }
    await page.getByTestId("cancel-deploy").click();
    const confirm = page.getByRole("dialog", { name: "Cancel the deploy of gateway?" });
    await expect(confirm).toBeVisible();
    await expect(confirm.getByRole("button", { name: "Keep it running" })).toBeFocused();
    await confirm.getByRole("button", { name: "Cancel the deploy of gateway" }).click();

    await expect(page.getByTestId("deploy-status")).toHaveText("cancelled", { timeout: 60_000 });
    await expect(page.getByTestId("deploy-announcer")).toContainText("Deploy of gateway to sandbox: cancelled. EC2 a: Cancelled. EC2 b: Cancelled.");
    const explain = page.getByTestId("after-stop");
    for (const host of ["EC2 a", "EC2 b"]) {
      const line = explain.locator("li").filter({ hasText: host });
      await expect(line).toContainText(/last step reached (build gateway|recreate gateway)/);
      await expect(line).toContainText(/Files replaced/);
    }
    await expect(explain.getByRole("button", { name: /Redeploy gateway from acp_gateway_/ })).toBeVisible();
    await expect(page.getByTestId("host-summaries")).toContainText("cancelled at step");
    await expect(page.getByTestId("phase-run")).toContainText("cancelled");
    await expect(page.getByTestId("active-banner")).toHaveCount(0);
  } finally {
    await setFault(page, "EC2 a", "slow", false);
    await setFault(page, "EC2 b", "slow", false);
  }
});

test("a hung host says when it times out and that it has been quiet; after cancel nothing changed on it", async ({ page }) => {
  test.setTimeout(180_000);
  await setFault(page, "EC2 a", "hang", true);
  try {
    await deploy(page, ["audit"], "running");
    const hostA = page.locator('[data-testid^="host-panel-"]').filter({ hasText: "EC2 a" });
    await expect(hostA.getByText(/times out at \d\d:\d\d:\d\d/)).toBeVisible();
    await expect(hostA.getByText(/no output for (\d+ s|1 min)/)).toBeVisible({ timeout: 100_000 });
    await page.getByTestId("cancel-deploy").click();
    await page.getByRole("dialog").getByRole("button", { name: /^Cancel the deploy of audit/ }).click();
    await expect(page.getByTestId("after-stop").locator("li").filter({ hasText: "EC2 a" })).toContainText(/last step reached download\. Stopped at download: nothing was extracted/, { timeout: 60_000 });
    await expect(hostA.getByText(/times out at/)).toHaveCount(0);
  } finally {
    await setFault(page, "EC2 a", "hang", false);
  }
});

test("a bundle whose deploy was cancelled before sending says it was uploaded, never sent", async ({ page }) => {
  await page.goto("/");
  await page.getByRole("checkbox", { name: /^ui\b/ }).check();
  await page.getByRole("checkbox", { name: "Review the host script before it is sent" }).check();
  await page.getByRole("button", { name: "Deploy", exact: true }).click();
  await expect(page.getByTestId("deploy-status")).toHaveText("awaiting confirmation", { timeout: 60_000 });
  const bundle = await fileNameIn(page);
  await page.getByTestId("cancel-deploy").click();
  const confirm = page.getByRole("dialog");
  await expect(confirm).toContainText("Nothing has been sent yet");
  await confirm.getByRole("button", { name: /^Cancel the deploy of ui/ }).click();
  await expect(page.getByTestId("deploy-status")).toHaveText("cancelled");
  await expect(page.getByTestId("after-stop")).toContainText("no host was touched");
  await expect(page.getByTestId("phase-review")).toContainText("cancelled");

  await page.getByRole("link", { name: "Bundles" }).click();
  const row = page.getByTestId("bundle-row").filter({ hasText: bundle });
  await expect(row.getByTestId("bundle-never-sent")).toHaveText("uploaded, never sent");
  await expect(row.getByTestId("bundle-live-on")).toHaveText("nowhere");
});

test("a missing deploy id is not found at once; unknown routes too; every page has its own title", async ({ page }) => {
  const started = Date.now();
  const response = await page.goto("/deploys/no-such-deploy");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Not found" })).toBeVisible();
  expect(Date.now() - started).toBeLessThan(5_000);
  await expect(page).toHaveTitle("Deploy not found · Deckhand");
  await page.goto("/no/such/page");
  await expect(page.getByTestId("not-found")).toBeVisible();
  const titles = new Set<string>();
  for (const path of ["/", "/bundles", "/history"]) {
    await page.goto(path);
    titles.add(await page.title());
  }
  expect([...titles]).toEqual(["Dashboard · Deckhand", "Bundles · Deckhand", "History · Deckhand"]);
  const icon = await page.request.get("/icon.svg");
  expect(icon.status()).toBe(200);
});

async function pagesToVisit(page: Page): Promise<string[]> {
  await page.goto("/history");
  const href = await page.getByTestId("deploy-link").first().getAttribute("href");
  expect(href, "a recorded deploy to visit").toBeTruthy();
  return ["/", "/bundles", "/history", href!, "/deploys/no-such-deploy", "/no/such/page"];
}

test("no page scrolls sideways at 390 px", async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [i, path] of (await pagesToVisit(page)).entries()) {
    await page.goto(path);
    await page.waitForLoadState("networkidle");
    await expect(page.locator("main")).not.toBeEmpty();
    await page.waitForTimeout(300);
    const width = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, body: document.body.scrollWidth, view: window.innerWidth }));
    expect(width.scroll, `${path} is ${width.scroll} px wide`).toBeLessThanOrEqual(width.view);
    expect(width.body, `${path} body is ${width.body} px wide`).toBeLessThanOrEqual(width.view);
    await page.screenshot({ path: testInfo.outputPath(`390-${i}.png`), fullPage: true });
  }
});

for (const scheme of ["light", "dark"] as const) {
  test(`accessibility scan of every page (${scheme}): no serious or critical violation`, async ({ page }, testInfo) => {
    await page.emulateMedia({ colorScheme: scheme });
    const problems: string[] = [];
    for (const path of await pagesToVisit(page)) {
      await page.goto(path);
      await page.waitForLoadState("networkidle");
      await page.waitForTimeout(300);
      const result = await new AxeBuilder({ page }).analyze();
      await page.screenshot({ path: testInfo.outputPath(`${scheme}-${path.replace(/\W+/g, "_")}.png`), fullPage: true });
      for (const v of result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")) {
        problems.push(`${path}: ${v.id} (${v.impact}) ${v.help}: ${v.nodes.map((n) => n.target.join(" ")).slice(0, 5).join(" | ")}`);
      }
    }
    // A dialog open over the dashboard as well.
    await page.goto("/");
    const rollback = page.locator('[data-testid^="rollback-"]:not([disabled])').first();
    if ((await rollback.count()) > 0) {
      await rollback.click();
      await expect(page.getByRole("dialog")).toBeVisible();
      const result = await new AxeBuilder({ page }).include('[role="dialog"]').analyze();
      for (const v of result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")) problems.push(`dialog: ${v.id} ${v.help}`);
    }
    expect(problems).toEqual([]);
  });
}

/** Presses Tab until the focused element's name matches; fails saying what it was looking for. */
async function tabTo(page: Page, name: RegExp, max = 150) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el) return "";
      if (el instanceof HTMLInputElement) return `input:${el.value}`;
      return (el.getAttribute("aria-label") ?? el.textContent ?? "").replace(/\s+/g, " ").trim();
    });
    if (name.test(focused)) return;
  }
  throw new Error(`Tab never reached an element named ${name}`);
}

async function deployByKeyboard(page: Page, service: string) {
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "sandbox", exact: true })).toBeVisible();
  await expect(page.getByTestId("deploy-button-sandbox")).toBeVisible();
  await tabTo(page, new RegExp(`^input:${service}$`));
  await page.keyboard.press("Space");
  await tabTo(page, /^Deploy$/);
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/deploys\//);
  await expect(page.getByTestId("deploy-status")).toHaveText("succeeded", { timeout: 90_000 });
  return fileNameIn(page);
}

test("keyboard only: deploy audit twice, then roll it back", async ({ page }) => {
  const older = await deployByKeyboard(page, "audit");
  const newer = await deployByKeyboard(page, "audit");
  expect(newer).not.toBe(older);

  await page.goto("/");
  // The skip link is the first stop and leads to the main content.
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Skip to main content" })).toBeFocused();

  const rollbackName = new RegExp(`^Roll back audit to ${older.replace(/\./g, "\\.")}$`);
  await expect(page.getByRole("button", { name: rollbackName })).toBeVisible();
  await tabTo(page, rollbackName);
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: new RegExp(`Roll back audit in sandbox to ${older.replace(/\./g, "\\.")}`) });
  await expect(dialog).toBeVisible();
  expect(await dialog.evaluate((el) => el.contains(document.activeElement))).toBe(true);
  // Escape closes it and gives focus back to the button that opened it.
  await page.keyboard.press("Escape");
  await expect(dialog).toHaveCount(0);
  await expect(page.getByRole("button", { name: rollbackName })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(dialog.getByRole("button", { name: "Confirm rollback" })).toBeVisible();
  // Tab stays inside the dialog until it reaches Confirm.
  for (let i = 0; i < 40; i++) {
    expect(await dialog.evaluate((el) => el.contains(document.activeElement))).toBe(true);
    if (await dialog.getByRole("button", { name: "Confirm rollback" }).evaluate((el) => el === document.activeElement)) break;
    await page.keyboard.press("Tab");
  }
  await expect(dialog.getByRole("button", { name: "Confirm rollback" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/deploys\//);
  await expect(page.getByTestId("deploy-status")).toHaveText("succeeded", { timeout: 90_000 });
  await expect(page.getByTestId("bundle-key")).toContainText(older);

  // After the rollback the dashboard offers to roll forward to the newer bundle, not "back" to it.
  await page.goto("/");
  await expect(page.getByTestId("rollback-audit")).toHaveText(`Roll forward audit to ${newer}`);
});
