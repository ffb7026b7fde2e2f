// The sample app's smoke endpoints (seeds/000 and seeds/003), served by the stand-in containers:
// the ui container proxies them to the gateway (as its nginx.conf does), the gateway answers them and
// asks the audit container, unless the host's Docker DNS is poisoned (the `dns` fault).
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";

export const TENANT_ID = "00000000-0000-0000-0000-000000000001";
export const ADMIN_EMAIL = "admin@acp.local";
const GATEWAY_ROUTES = /^\/(auth\/token|system\/health|audit\/logs\/verify|health\/live|health\/ready)$/;
const MAX_BODY = 16 * 1024;

/** Where the `dns` fault leaves its mark: Docker's embedded DNS of this host is poisoned until the gateway is recreated. */
export const dnsMarker = (stateDir) => path.join(stateDir, "dns-poisoned");

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req) {
  let size = 0;
  const chunks = [];
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function containerPort(stateDir, service) {
  const info = readJson(path.join(stateDir, "containers", `${service}.json`));
  return info?.port;
}

function ask(port, pathname, method = "GET", headers = {}, body) {
  return new Promise((resolve) => {
    const req = http.request({ host: "127.0.0.1", port, path: pathname, method, headers, timeout: 2000 }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", (error) => resolve({ status: 0, error: error.message }));
    req.end(body);
  });
}

/** The ui container's nginx: `location ~ ^/(auth|system|audit|health)/ { proxy_pass http://acp_gateway:8000; }`. */
export async function uiRoute(req, res, url, stateDir) {
  if (!GATEWAY_ROUTES.test(url.pathname)) return false;
  const port = containerPort(stateDir, "gateway");
  const body = await readBody(req);
  if (body === null) return void send(res, 413, { error: "request body too large" }), true;
  const answer = port ? await ask(port, url.pathname + url.search, req.method, { ...req.headers, host: "acp_gateway:8000" }, body) : { status: 0 };
  if (!answer.status) {
    res.writeHead(502, { "content-type": "text/html" });
    res.end("<html><body><h1>502 Bad Gateway</h1></body></html>\n");
    return true;
  }
  res.writeHead(answer.status, { "content-type": answer.headers["content-type"] ?? "application/json" });
  res.end(answer.body);
  return true;
}

function secrets(stateDir) {
  return readJson(path.join(stateDir, "app.json"));
}

function sign(key, payload) {
  const data = Buffer.from(JSON.stringify(payload)).toString("base64url");
  return `${data}.${createHmac("sha256", key).update(data).digest("base64url")}`;
}

function verify(key, token) {
  const [data, mac] = String(token ?? "").split(".");
  if (!data || !mac) return null;
  const expected = Buffer.from(createHmac("sha256", key).update(data).digest("base64url"));
  const given = Buffer.from(mac);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
  const payload = JSON.parse(Buffer.from(data, "base64url").toString("utf8"));
  return payload.exp > Date.now() / 1000 ? payload : null;
}

/** How the gateway sees the audit service: through Docker DNS (acp_audit), which the `dns` fault breaks. */
async function auditCall(stateDir, pathname) {
  if (fs.existsSync(dnsMarker(stateDir))) return { error: "could not resolve acp_audit: Temporary failure in name resolution" };
  const port = containerPort(stateDir, "audit");
  if (!port) return { error: "acp_audit: no such container" };
  const answer = await ask(port, pathname);
  if (!answer.status) return { error: `acp_audit: ${answer.error}` };
  try {
    return { status: answer.status, json: JSON.parse(answer.body.toString("utf8")) };
  } catch {
    return { error: `acp_audit answered HTTP ${answer.status} without JSON` };
  }
}

/** The gateway container: login, system health, audit-chain verify, live/ready. */
export async function gatewayRoute(req, res, url, stateDir, version) {
  if (!GATEWAY_ROUTES.test(url.pathname)) return false;
  const app = secrets(stateDir);
  if (!app) return void send(res, 500, { error: "gateway not configured" }), true;
  const body = await readBody(req);
  if (body === null) return void send(res, 413, { error: "request body too large" }), true;
  if (url.pathname === "/health/live") return void send(res, 200, { ok: true }), true;
  if (url.pathname === "/health/ready") {
    const started = Date.now();
    const audit = await auditCall(stateDir, "/health");
    const checks = [
      { name: "self", ok: true, latency_ms: 0, detail: "ok" },
      { name: "audit", ok: !audit.error && audit.status === 200, latency_ms: Date.now() - started, detail: audit.error ?? "ok" },
    ];
    const ok = checks.every((c) => c.ok);
    return void send(res, ok ? 200 : 503, { ok, checks }), true;
  }
  if (req.headers["x-tenant-id"] !== TENANT_ID) return void send(res, 400, { error: "X-Tenant-ID header missing or unknown" }), true;
  if (url.pathname === "/auth/token") {
    if (req.method !== "POST") return void send(res, 405, { error: "POST only" }), true;
    let credentials;
    try {
      credentials = JSON.parse(body);
    } catch {
      return void send(res, 400, { error: "body must be JSON" }), true;
    }
    const hash = createHash("sha256").update(String(credentials?.password ?? "")).digest("hex");
    if (credentials?.email !== ADMIN_EMAIL || hash !== app.passwordSha256) return void send(res, 401, { error: "invalid email or password" }), true;
    const token = sign(app.tokenKey, { sub: ADMIN_EMAIL, tenant: TENANT_ID, exp: Math.floor(Date.now() / 1000) + 3600 });
    return void send(res, 200, { access_token: token, token_type: "bearer", expires_in: 3600 }), true;
  }
  const auth = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ""));
  if (!auth || !verify(app.tokenKey, auth[1])) return void send(res, 401, { error: "missing or invalid bearer token" }), true;
  if (url.pathname === "/system/health") {
    const audit = await auditCall(stateDir, "/health");
    const services = [
      { name: "gateway", status: "healthy", version },
      { name: "audit", status: !audit.error && audit.status === 200 ? "healthy" : "unhealthy", ...(audit.error ? { detail: audit.error } : { version: audit.json?.version }) },
    ];
    return void send(res, 200, { data: { services } }), true;
  }
  // /audit/logs/verify
  const audit = await auditCall(stateDir, "/logs/verify");
  if (audit.error) return void send(res, 502, { error: audit.error }), true;
  return void send(res, audit.status, audit.json), true;
}

/** The audit container: a small hash chain it can verify. */
export function auditRoute(req, res, url) {
  if (url.pathname !== "/logs/verify") return false;
  let head = "0".repeat(64);
  const entries = ["deploy", "login", "config-change"];
  for (const entry of entries) head = createHash("sha256").update(head + entry).digest("hex");
  send(res, 200, { data: { valid: true, entries: entries.length, head } });
  return true;
}
