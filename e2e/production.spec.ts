import { expect, test } from "@playwright/test";

// Issue 12: several environments; the production one is marked everywhere and needs its name typed to deploy.
test("operator switches to the production environment and has to type its name to deploy", async ({ page }) => {
  await page.goto("/");
  // The sandbox environment is shown first; production is one switch away.
  await expect(page.getByRole("heading", { name: "sandbox", exact: true })).toBeVisible();
  await expect(page.getByTestId("production-badge")).toHaveCount(0);
  await page.getByTestId("environment-picker").selectOption("production");
  await expect(page.getByRole("heading", { name: "production", exact: true })).toBeVisible();
  await expect(page.getByTestId("production-badge").first()).toBeVisible();
  await expect(page.locator('[data-testid^="host-row-"]').first()).toContainText("Online");

  await page.getByRole("checkbox", { name: /gateway/ }).check();
  const deploy = page.getByRole("button", { name: "Deploy", exact: true });
  await expect(deploy).toBeDisabled();
  const confirm = page.getByTestId("confirm-environment");
  await confirm.fill("sandbox");
  await expect(deploy).toBeDisabled();
  await confirm.fill("production");
  await expect(deploy).toBeEnabled();
  await deploy.click();

  await expect(page).toHaveURL(/\/deploys\//);
  await expect(page.getByRole("heading", { name: /to production/ })).toBeVisible();
  await expect(page.getByTestId("production-badge").first()).toBeVisible();
  await expect(page.getByTestId("deploy-status")).toHaveText("succeeded");
  await expect(page.getByTestId("bundle-key")).toContainText("prod-deployments/acp_gateway_");

  // The bundles page keeps the environment picked, and marks it.
  await page.goto("/bundles");
  await expect(page.getByTestId("bundles-environment")).toHaveValue("production");
  await expect(page.getByTestId("production-badge").first()).toBeVisible();
  await expect(page.getByTestId("bundle-row").first()).toHaveAttribute("data-bundle-key", /^prod-deployments\/acp_gateway_/);
});
