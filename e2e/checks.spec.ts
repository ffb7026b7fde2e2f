import fs from "node:fs";
import path from "node:path";
import { expect, test } from "@playwright/test";

/** An operator's code change between two deploys: the sample UI's source changes, so its build hashes anew. */
function changeUi(note: string) {
  fs.appendFileSync(path.join(process.env.E2E_SANDBOX_ROOT ?? "", "repo/ui/src/main.js"), `\n// ${note}\n`);
}

// Issue 8's journey: checks tick green after a deploy; a stale host is named; the DNS fix clears a red check.
test("checks go green, a stale host is named, and the DNS fix from the checks panel clears system health", async ({ page }) => {
  test.setTimeout(240_000);
  const deploy = async (service: string) => {
    await page.goto("/");
    await page.getByRole("checkbox", { name: new RegExp(`^${service}\\b`) }).check();
    const checklist = page.getByTestId("pre-deploy-checklist");
    await expect(checklist).not.toContainText("Checking…");
    // After red checks the checklist asks why the operator goes ahead; the reason is recorded.
    if (await page.getByTestId("go-ahead-reason").isVisible()) await page.getByTestId("go-ahead-reason").fill("fixing the host the checks named");
    await page.getByRole("button", { name: "Deploy", exact: true }).click();
    await expect(page).toHaveURL(/\/deploys\//);
  };
  const fault = async (name: string, host: string, on: boolean) => {
    await page.goto("/");
    const box = page.getByRole("checkbox", { name: `${name} on ${host}` });
    if (on) await box.check();
    else await box.uncheck();
    await expect(box).toBeChecked({ checked: on });
  };

  await deploy("audit");
  await expect(page.getByTestId("deploy-status")).toHaveText("succeeded", { timeout: 60_000 });
  await expect(page.getByTestId("checks-state")).toHaveText("— all passed");
  await expect(page.getByTestId("check-list").getByText("✓ passed")).toHaveCount(4);

  await fault("stale", "EC2 b", true);
  try {
    changeUi("e2e-stale-1"); // a new UI bundle, which EC2 b will claim to have deployed without doing it
    await deploy("ui");
    await expect(page.getByTestId("deploy-status")).toHaveText("checks failed", { timeout: 90_000 });
    await expect(page.getByTestId("host-truth")).toContainText("✗ EC2 b serves another bundle");
  } finally {
    await fault("stale", "EC2 b", false); // the journeys after this one need a truthful EC2 b
  }
  await deploy("ui"); // EC2 b catches up
  await expect(page.getByTestId("deploy-status")).toHaveText("succeeded", { timeout: 90_000 });

  await fault("dns", "EC2 a", true);
  try {
    await deploy("audit"); // not gateway: recreating the gateway container is itself the DNS fix
    await expect(page.getByTestId("deploy-status")).toHaveText("checks failed", { timeout: 90_000 });
    await expect(page.getByTestId("check-list")).toContainText("✗ failed system health");
    const brokenDeploy = page.url();
    await page.getByRole("button", { name: "Run docker-dns-fix on EC2 a" }).click();
    await expect(page).not.toHaveURL(brokenDeploy);
    await expect(page.getByTestId("deploy-status")).toHaveText("succeeded", { timeout: 60_000 });
    await page.goto(brokenDeploy);
    await page.getByRole("button", { name: /Run the checks of audit again/ }).click();
    await expect(page.getByTestId("deploy-status")).toHaveText("succeeded", { timeout: 90_000 });
    await expect(page.getByTestId("checks-state")).toHaveText("— all passed");
    await expect(page.getByTestId("summary-text")).toContainText("Health: ✅ 4/4 checks green");
  } finally {
    await fault("dns", "EC2 a", false); // already cleared by the fix when it ran; never left on for the next journey
  }
});

test("the dashboard shows each host's SSM agent and ALB target; offline shows ConnectionLost and unhealthy; Read from hosts fills the matrix", async ({ page }) => {
  test.setTimeout(180_000);
  await page.goto("/");
  const hostB = page.locator('[data-testid^="host-row-"]').filter({ hasText: "EC2 b" });
  await expect(hostB).toContainText("Online");
  await expect(hostB.locator('[data-testid^="host-agent-"]')).toContainText("agent ");
  await expect(hostB.locator('[data-testid^="host-target-"]')).toContainText("healthy");

  await page.getByRole("button", { name: "Read from hosts of sandbox" }).click();
  const readings = page.getByTestId("host-readings");
  await expect(readings).toBeVisible({ timeout: 60_000 });
  for (const cell of await readings.locator('[data-testid^="reading-"]').all()) {
    await expect(cell).not.toHaveText(/^\s*$/); // a bundle, "not from any known bundle", or why not: never blank
  }

  const offline = page.getByRole("checkbox", { name: "offline on EC2 b" });
  await offline.check();
  try {
    await expect(hostB).toContainText("ConnectionLost", { timeout: 60_000 });
    await expect(hostB.locator('[data-testid^="host-target-"]')).toContainText("unhealthy", { timeout: 60_000 });
  } finally {
    await offline.uncheck();
    await expect(offline).not.toBeChecked();
  }
  await expect(hostB).toContainText("Online", { timeout: 60_000 });
});
