import { expect, test, type Page } from "@playwright/test";

// These journeys share one server with the other specs and must not assume what ran before them:
// they only rely on what they deploy themselves.

/** Deploys one service from the dashboard, waits for success, returns the bundle's file name. */
async function deployFromDashboard(page: Page, service: string): Promise<string> {
  await page.goto("/");
  await page.getByRole("checkbox", { name: new RegExp(service) }).check();
  await page.getByRole("button", { name: "Deploy", exact: true }).click();
  await expect(page).toHaveURL(/\/deploys\//);
  await expect(page.getByTestId("deploy-status")).toHaveText("succeeded", { timeout: 60_000 });
  const bundle = await page.getByTestId("bundle-key").innerText();
  const fileName = new RegExp(`acp_${service}_\\d+\\.tar\\.gz`).exec(bundle)?.[0];
  expect(fileName, `bundle file name in "${bundle}"`).toBeTruthy();
  return fileName!;
}

test("operator rolls audit back to the previous bundle from the live matrix", async ({ page }, testInfo) => {
  const older = await deployFromDashboard(page, "audit");
  const newer = await deployFromDashboard(page, "audit");
  expect(newer).not.toBe(older);

  // Both bundles are listed in S3, the newer one live on both hosts.
  await page.getByRole("link", { name: "Bundles" }).click();
  await expect(page).toHaveURL(/\/bundles$/);
  await expect(page.getByTestId("bundles-pager")).toContainText(/page 1 of \d+ · \d+ bundles/);
  const olderRow = page.getByTestId("bundle-row").filter({ hasText: older });
  const newerRow = page.getByTestId("bundle-row").filter({ hasText: newer });
  await expect(olderRow).toBeVisible();
  await expect(newerRow).toBeVisible();
  await expect(newerRow.getByTestId("bundle-live-on")).toContainText("EC2 a");
  await expect(newerRow.getByTestId("bundle-live-on")).toContainText("EC2 b");
  await expect(newerRow).toContainText("audit");
  await page.screenshot({ path: testInfo.outputPath("bundles.png"), fullPage: true });

  // Deploying the bundle that is already live everywhere is refused, with no way to confirm.
  await newerRow.getByRole("button", { name: "Deploy this bundle" }).click();
  const dialog = page.getByTestId("redeploy-dialog");
  await expect(dialog.getByTestId("redeploy-refusal")).toContainText("already live");
  await expect(dialog.getByTestId("redeploy-confirm")).toHaveCount(0);
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toHaveCount(0);

  // The dashboard offers the older bundle as the rollback target for audit.
  await page.getByRole("link", { name: "Dashboard" }).click();
  const rollback = page.getByTestId("rollback-audit");
  await expect(rollback).toHaveText(`Roll back audit to ${older}`);
  await rollback.click();

  await expect(dialog.getByTestId("redeploy-kind")).toHaveText("rollback");
  const changes = dialog.getByTestId("redeploy-changes");
  await expect(changes.locator("tbody tr")).toHaveCount(2);
  for (const row of await changes.locator("tbody tr").all()) {
    await expect(row).toContainText("audit");
    await expect(row).toContainText(newer);
    await expect(row).toContainText(`→ ${older}`);
  }
  await expect(dialog.getByTestId("redeploy-script")).toContainText(older);
  await expect(dialog.getByTestId("redeploy-script")).toContainText("'audit'");
  await page.screenshot({ path: testInfo.outputPath("rollback-dialog.png"), fullPage: false });
  await dialog.getByRole("button", { name: "Confirm rollback" }).click();

  await expect(page).toHaveURL(/\/deploys\//);
  await expect(page.getByTestId("deploy-kind")).toContainText("rollback of");
  const panels = page.locator('[data-testid="current-attempts"] [data-testid^="host-panel-"]');
  await expect(panels).toHaveCount(2);
  for (const panel of await panels.all()) await expect(panel).toHaveAttribute("data-host-status", "Success", { timeout: 60_000 });
  await expect(page.getByTestId("deploy-status")).toHaveText("succeeded");
  await expect(page.getByTestId("bundle-key")).toContainText(older);

  // The live matrix now shows the older bundle for audit on both hosts.
  await page.getByRole("link", { name: "Dashboard" }).click();
  const auditCells = page.locator('[data-testid^="live-cell-"][data-testid$="-audit"]');
  await expect(auditCells).toHaveCount(2);
  for (const cell of await auditCells.all()) await expect(cell).toContainText(older);
  await page.getByTestId("live-matrix-sandbox").screenshot({ path: testInfo.outputPath("live-matrix.png") });
});

test("retrying a partially failed deploy reruns only the failed host and the deploy succeeds", async ({ page }) => {
  await page.goto("/");
  const failNext = page.getByRole("checkbox", { name: "fail-next on EC2 a" });
  await failNext.check();
  await expect(failNext).toBeChecked();

  await page.getByRole("checkbox", { name: /gateway/ }).check();
  await page.getByRole("button", { name: "Deploy", exact: true }).click();
  await expect(page).toHaveURL(/\/deploys\//);
  await expect(page.getByTestId("deploy-status")).toHaveText("partially failed", { timeout: 60_000 });
  const current = page.locator('[data-testid="current-attempts"] [data-testid^="host-panel-"]');
  await expect(current.filter({ hasText: "EC2 a" })).toHaveAttribute("data-host-status", "Failed");
  await expect(current.filter({ hasText: "EC2 b" })).toHaveAttribute("data-host-status", "Success");

  await page.getByRole("button", { name: "Retry failed hosts" }).click();
  const hostA = current.filter({ hasText: "EC2 a" });
  await expect(hostA).toContainText("attempt 2");
  await expect(hostA).toHaveAttribute("data-host-status", "Success", { timeout: 60_000 });
  await expect(page.getByTestId("deploy-status")).toHaveText("succeeded");
  // EC2 b was not touched again: its panel is still the first attempt.
  await expect(current.filter({ hasText: "EC2 b" })).not.toContainText("attempt 2");
  await expect(page.getByText("Earlier attempts (1)")).toBeVisible();
  await expect(page.getByTestId("retry-failed-hosts")).toHaveCount(0);
});
