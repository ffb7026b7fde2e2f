import { expect, test } from "@playwright/test";

test("operator deploys audit and watches both hosts go green, then finds it in history", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "sandbox", exact: true })).toBeVisible();
  const hostRows = page.locator('[data-testid^="host-row-"]');
  await expect(hostRows).toHaveCount(2);
  await expect(hostRows.first()).toContainText("Online");

  await page.getByRole("checkbox", { name: /audit/ }).check();
  await expect(page.getByTestId("deploy-shape")).toContainText("services/audit");
  await expect(page.getByTestId("deploy-shape")).toContainText("one service");
  await page.getByRole("button", { name: "Deploy", exact: true }).click();

  await expect(page).toHaveURL(/\/deploys\//);
  const deployUrl = page.url();
  const panels = page.locator('[data-testid^="host-panel-"]');
  await expect(panels).toHaveCount(2);
  // Output appears in the panels before the deploy is over, then both go green.
  await expect(panels.first().getByText("==> download", { exact: false })).toBeVisible();
  for (const panel of await panels.all()) {
    await expect(panel).toHaveAttribute("data-host-status", "Success");
    await expect(panel).toContainText("==> done");
    await expect(panel).toContainText("exit 0");
  }
  await expect(page.getByTestId("deploy-status")).toHaveText("succeeded");
  await expect(page.getByTestId("bundle-key")).toContainText("acp_audit_");
  await page.getByText("Host script (exactly as sent through SSM)").click();
  await expect(page.getByTestId("host-script")).toContainText("docker compose up -d --no-deps --force-recreate 'audit'");

  await page.getByRole("link", { name: "History" }).first().click();
  await expect(page.getByTestId("deploy-list")).toContainText("audit");
  await page.getByTestId("deploy-link").first().click();
  await expect(page).toHaveURL(deployUrl);
  await expect(page.getByTestId("deploy-status")).toHaveText("succeeded");
});

test("a failure injected on one host shows that host Failed with its stderr while the other succeeds", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByTestId("sandbox-panel")).toBeVisible();
  await page.getByRole("checkbox", { name: "fail-next on EC2 a" }).check();
  await expect(page.getByRole("checkbox", { name: "fail-next on EC2 a" })).toBeChecked();

  await page.getByRole("checkbox", { name: /gateway/ }).check();
  await page.getByRole("button", { name: "Deploy", exact: true }).click();
  await expect(page).toHaveURL(/\/deploys\//);
  await expect(page.getByTestId("deploy-status")).toHaveText("partially failed");
  const panels = page.locator('[data-testid^="host-panel-"]');
  await expect(panels.filter({ hasText: "EC2 a" })).toHaveAttribute("data-host-status", "Failed");
  await expect(panels.filter({ hasText: "EC2 b" })).toHaveAttribute("data-host-status", "Success");
});

test("with script review on, the deploy stops after upload, shows the diff and script, and sends on confirm", async ({ page }) => {
  await page.goto("/");
  await page.getByRole("checkbox", { name: /gateway/ }).check();
  await page.getByRole("checkbox", { name: "Review the host script before it is sent" }).check();
  await page.getByRole("button", { name: "Deploy", exact: true }).click();
  await expect(page).toHaveURL(/\/deploys\//);
  await expect(page.getByTestId("deploy-status")).toHaveText("awaiting confirmation");
  await expect(page.getByTestId("pending-diff")).toBeVisible();
  await expect(page.getByTestId("host-script")).toContainText("sudo docker compose build --no-cache 'gateway'");
  await expect(page.locator('[data-testid^="host-panel-"]')).toHaveCount(0); // nothing sent yet

  await page.getByRole("button", { name: "Send to hosts" }).click();
  await expect(page.getByTestId("deploy-status")).toHaveText("succeeded");
  await expect(page.locator('[data-testid^="host-panel-"][data-host-status="Success"]')).toHaveCount(2);
});
