import { expect, test, type Page } from "@playwright/test";
import http from "node:http";
import net from "node:net";

const port = Number(process.env.E2E_PORT ?? 3117);

/** A request with any Host header (fetch and browsers will not send a forged one; a rebound page sends its own name). */
function raw(pathname: string, options: { host: string; method?: string; headers?: Record<string, string>; body?: string }) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: pathname, method: options.method ?? "GET", headers: { ...options.headers, host: options.host } }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

async function tokenOf(page: Page): Promise<string> {
  await page.goto("/");
  const token = await page.locator('meta[name="deckhand-token"]').getAttribute("content");
  expect(token, "the page carries the panel token").toMatch(/^[A-Za-z0-9_-]{40,}$/);
  return token!;
}

test("a foreign Host is refused with 421 before any page, route or action runs", async () => {
  for (const pathname of ["/", "/api/overview", "/api/sandbox", "/bundles", "/_next/static/x.js"]) {
    const answer = await raw(pathname, { host: `evil.example:${port}` });
    expect(answer.status, pathname).toBe(421);
    expect(answer.body).toContain("Misdirected request");
    expect(answer.body).not.toContain("deckhand-token");
  }
  // A server action POST under a rebound name: refused before Next decodes it.
  const action = await raw("/", { host: `evil.example:${port}`, method: "POST", headers: { "next-action": "0".repeat(42), "content-type": "text/plain" }, body: "[]" });
  expect(action.status).toBe(421);
  expect((await raw("/", { host: `127.0.0.1:${port + 1}` })).status).toBe(421); // right name, wrong port
  // No Host at all (node's http client would fill one in, so a raw socket).
  for (const request of ["GET / HTTP/1.0\r\n\r\n", "GET / HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n"]) {
    const statusLine = await new Promise<string>((resolve, reject) => {
      let data = "";
      const socket = net.connect(port, "127.0.0.1", () => socket.write(request));
      socket.on("data", (chunk) => (data += chunk));
      socket.on("end", () => resolve(data.split("\r\n")[0] ?? ""));
      socket.on("error", reject);
    });
    expect(statusLine).toBe("HTTP/1.1 421 Misdirected Request");
  }
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) expect((await raw("/", { host })).status, host).toBe(200);
});

test("API routes refuse calls without this launch's token; the page's token works", async ({ page, request }) => {
  const badHeaders: Record<string, string>[] = [{}, { "x-deckhand-token": "forged" }, { "x-deckhand-token": "A".repeat(43) }];
  for (const headers of badHeaders) {
    const answer = await request.get("/api/overview", { headers });
    expect(answer.status()).toBe(403);
    expect((await answer.json()).error).toMatch(/panel token/);
  }
  expect((await request.get("/api/deploys")).status()).toBe(403);
  expect((await request.get("/api/sandbox")).status()).toBe(403);
  const token = await tokenOf(page);
  const overview = await request.get("/api/overview", { headers: { "x-deckhand-token": token } });
  expect(overview.status()).toBe(200);
  // Hostile query values are handled inertly: a clear JSON error, never a crash or a path walk.
  for (const environment of ["../../etc/passwd", "$(touch /tmp/x)", "__proto__", "constructor", "a".repeat(10_000), "sandbox\u0000x"]) {
    const answer = await request.get(`/api/bundles?environment=${encodeURIComponent(environment)}&page=${encodeURIComponent("1;id")}`, { headers: { "x-deckhand-token": token } });
    expect(answer.status(), environment.slice(0, 20)).toBe(400);
    expect((await answer.json()).error).toMatch(/^environment: /);
  }
  const unknown = await request.get("/api/bundles?environment=nosuchenv", { headers: { "x-deckhand-token": token } });
  expect(unknown.status()).toBe(404);
  expect((await unknown.json()).error).toMatch(/nosuchenv/);
  const badId = await request.get(`/api/deploys/${encodeURIComponent("../../etc/passwd")}`, { headers: { "x-deckhand-token": token } });
  expect(badId.status()).toBe(400);
});

test("the panel cannot be framed: headers forbid it and the browser obeys", async ({ page, baseURL }) => {
  const response = await page.goto("/");
  expect(response!.headers()["x-frame-options"]).toBe("DENY");
  expect(response!.headers()["content-security-policy"]).toContain("frame-ancestors 'none'");
  await page.goto("about:blank");
  await page.setContent(`<iframe id="victim" src="${baseURL}/" width="800" height="600"></iframe>`);
  const frame = page.frames().find((f) => f !== page.mainFrame())!;
  await expect.poll(async () => (await frame.locator("text=Deckhand").count()) === 0 && frame.url() !== "about:blank", { message: "the framed panel to stay blank (blocked)" }).toBe(true);
  expect(await frame.locator('meta[name="deckhand-token"]').count()).toBe(0);
});

test("a server action without the token is refused and changes nothing", async ({ page, request }) => {
  const token = await tokenOf(page);
  const state = async () => (await (await request.get("/api/sandbox", { headers: { "x-deckhand-token": token } })).json()) as { hosts: { name: string; faults: string[] }[] };
  const before = await state();
  const host = before.hosts[0]!;
  expect(host.faults).not.toContain("slow");
  // Strip the token from the action's request on its way out, as a forged cross-site call would lack it.
  let sawAction = false;
  await page.route("**/*", async (route) => {
    const req = route.request();
    if (req.method() === "POST" && req.headers()["next-action"]) {
      sawAction = true;
      const body = (req.postData() ?? "").replace(token, "");
      expect(body).toContain("__deckhandToken");
      return route.continue({ postData: body });
    }
    return route.continue();
  });
  await page.getByRole("checkbox", { name: `slow on ${host.name}` }).check();
  await expect(page.getByTestId("sandbox-panel").getByRole("alert")).toContainText("panel token");
  expect(sawAction).toBe(true);
  expect((await state()).hosts[0]!.faults).not.toContain("slow");
  // The same click with the token intact goes through: the refusal was the token, not the action.
  await page.unroute("**/*");
  await page.reload();
  await page.getByRole("checkbox", { name: `slow on ${host.name}` }).check();
  await expect.poll(async () => (await state()).hosts[0]!.faults, { message: "the fault to be set with the token" }).toContain("slow");
  await page.getByRole("checkbox", { name: `slow on ${host.name}` }).uncheck();
  await expect.poll(async () => (await state()).hosts[0]!.faults).not.toContain("slow");
});
