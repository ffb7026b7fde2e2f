// The event stream's token: EventSource cannot send headers, so its GET (and only it) may carry the
// panel token as ?token=, checked exactly like the header. Host check unchanged.
import { NextRequest } from "next/server";
import { beforeAll, describe, expect, it } from "vitest";

const TOKEN = "t".repeat(43);
let proxy: typeof import("@/proxy").proxy;

beforeAll(async () => {
  process.env.DECKHAND_PANEL_TOKEN = TOKEN;
  process.env.PORT = "3999";
  proxy = (await import("@/proxy")).proxy;
});

const request = (url: string, init: { method?: string; host?: string; headers?: Record<string, string> } = {}) =>
  new NextRequest(`http://127.0.0.1:3999${url}`, { method: init.method ?? "GET", headers: { host: init.host ?? "127.0.0.1:3999", ...init.headers } });
const passes = (response: Response) => response.headers.get("x-middleware-next") === "1";

describe("proxy: the event stream's token", () => {
  it("lets the stream's GET through with ?token= equal to the panel token", () => {
    expect(passes(proxy(request(`/api/deploys/d-1/events?after=0&token=${TOKEN}`)))).toBe(true);
    expect(passes(proxy(request(`/api/deploys/d-1/events`, { headers: { "x-deckhand-token": TOKEN } })))).toBe(true);
  });

  it("refuses a wrong or missing token, the query token on any other route or method, and a foreign Host", async () => {
    expect(proxy(request(`/api/deploys/d-1/events?token=${"x".repeat(43)}`)).status).toBe(403);
    expect(proxy(request(`/api/deploys/d-1/events`)).status).toBe(403);
    expect(proxy(request(`/api/deploys/d-1?token=${TOKEN}`)).status).toBe(403);
    expect(proxy(request(`/api/deploys/d-1/output?hostRun=x&token=${TOKEN}`)).status).toBe(403);
    expect(proxy(request(`/api/deploys/d-1/events/x?token=${TOKEN}`)).status).toBe(403);
    expect(proxy(request(`/api/deploys/d-1/events?token=${TOKEN}`, { method: "POST" })).status).toBe(403);
    expect(proxy(request(`/api/deploys/d-1/events?token=${TOKEN}`, { host: "evil.example:3999" })).status).toBe(421);
  });
});
