import { expect, test } from "@playwright/test";

// The setup check page: the laptop's side and each host's pre-flight, red with the fix for a host without the AWS CLI.
test("the setup check shows each host's pre-flight, and a host without the AWS CLI goes red with the fix", async ({ page }) => {
  test.setTimeout(180_000);
  await page.goto("/setup");
  await expect(page).toHaveTitle(/Setup check/);
  await page.getByRole("button", { name: /Run the setup check for sandbox/ }).click();
  const lines = page.getByTestId("setup-line");
  await expect(page.getByTestId("setup-result")).toBeVisible({ timeout: 90_000 });
  await expect(lines.filter({ hasText: "Host EC2 a" })).toContainText("✓ ok");
  await expect(lines.filter({ hasText: "Host EC2 b" })).toContainText("✓ ok");

  await page.goto("/");
  await page.getByRole("checkbox", { name: "no-aws-cli on EC2 a" }).check();
  await expect(page.getByRole("checkbox", { name: "no-aws-cli on EC2 a" })).toBeChecked();
  try {
    await page.goto("/setup");
    await page.getByRole("button", { name: /Run the setup check for sandbox/ }).click();
    await expect(page.getByTestId("setup-result")).toBeVisible({ timeout: 90_000 });
    const hostA = page.getByTestId("setup-line").filter({ hasText: "Host EC2 a" });
    await expect(hostA).toContainText("✗ fix");
    await expect(hostA).toContainText("AWS CLI");
    await expect(page.getByTestId("setup-verdict")).toContainText("Some things need fixing");
  } finally {
    await page.goto("/");
    await page.getByRole("checkbox", { name: "no-aws-cli on EC2 a" }).uncheck();
    await expect(page.getByRole("checkbox", { name: "no-aws-cli on EC2 a" })).not.toBeChecked();
  }
});
