import { expect, test } from "@playwright/test";

// Makes its own history through the UI (works whether or not earlier journeys ran): two deploys of
// audit and one of gateway, then filters, a search for a line the sandbox host really printed, and pages.
test("operator filters history by service and status, finds a deploy by what its hosts printed, and pages through", async ({ page }) => {
  test.setTimeout(300_000);
  const deploy = async (service: string) => {
    await page.goto("/");
    await expect(page.getByRole("heading", { name: "sandbox", exact: true })).toBeVisible();
    await page.getByRole("checkbox", { name: new RegExp(service) }).check();
    await page.getByRole("button", { name: "Deploy", exact: true }).click();
    await expect(page).toHaveURL(/\/deploys\//);
    await expect(page.getByTestId("deploy-status")).toHaveText("succeeded", { timeout: 120_000 });
    const panel = page.locator('[data-testid^="host-panel-"]').first();
    await expect(panel).toContainText("==> verify sha256 ");
    const sha = /verify sha256 ([0-9a-f]{64})/.exec((await panel.textContent()) ?? "")?.[1];
    expect(sha, "the host printed the bundle's sha256").toBeTruthy();
    return { id: page.url().split("/deploys/")[1]!, sha: sha! };
  };
  const first = await deploy("audit");
  await deploy("gateway");
  const second = await deploy("audit");

  // Filter by service and status with the form: the URL carries the filters.
  await page.goto("/history");
  await page.getByTestId("filter-service").selectOption("audit");
  await page.getByTestId("filter-status").selectOption("succeeded");
  await page.getByTestId("filter-apply").click();
  await expect(page).toHaveURL(/service=audit/);
  await expect(page).toHaveURL(/status=succeeded/);
  const rows = page.getByTestId("deploy-row");
  expect(await rows.count()).toBeGreaterThanOrEqual(2);
  for (const row of await rows.all()) {
    await expect(row.locator('[data-label="Services"]')).toContainText("audit");
    await expect(row.locator('[data-label="Status"]')).toContainText("succeeded");
  }
  await expect(page.getByTestId("deploy-list")).not.toContainText("gateway");

  // Search the output: the first audit deploy's hosts printed its bundle's sha256.
  await page.getByTestId("filter-q").fill(first.sha);
  await page.getByTestId("filter-apply").click();
  await expect(page).toHaveURL(new RegExp(`q=${first.sha}`));
  await expect(rows).toHaveCount(1);
  await expect(rows.first().getByTestId("deploy-link")).toHaveAttribute("href", `/deploys/${first.id}`);
  const matches = rows.first().getByTestId("output-match");
  await expect(matches).toHaveCount(2); // both hosts printed it
  await expect(matches.filter({ hasText: "EC2 a" })).toHaveCount(1);
  await expect(matches.first().locator("mark")).toContainText(first.sha);

  // A bad filter is a message, not an error page.
  await page.goto("/history?from=2026-02-30");
  await expect(page.getByTestId("history-error")).toHaveText("from: not a real date");

  // One deploy per page: Next goes to the older audit deploy, Previous comes back.
  await page.goto("/history?service=audit&status=succeeded&per=1");
  await expect(rows).toHaveCount(1);
  await expect(rows.first().getByTestId("deploy-link")).toHaveAttribute("href", `/deploys/${second.id}`);
  await expect(page.getByTestId("history-previous")).toHaveCount(0);
  await page.getByTestId("history-next").click();
  await expect(page).toHaveURL(/after=/);
  await expect(page).toHaveURL(/service=audit/);
  await expect(rows.first().getByTestId("deploy-link")).not.toHaveAttribute("href", `/deploys/${second.id}`);
  await page.getByTestId("history-previous").click();
  await expect(rows.first().getByTestId("deploy-link")).toHaveAttribute("href", `/deploys/${second.id}`);
});
