// A service "container": a detached HTTP process serving one service from its image directory.
// Usage: node container.mjs SERVICE IMAGE_DIR STATE_FILE IMAGE_ID
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { auditRoute, gatewayRoute, uiRoute } from "./app.mjs";

const [service, imageDir, stateFile, imageId] = process.argv.slice(2);
const stopMarker = path.join(path.dirname(path.dirname(stateFile)), "stopped");
const ownerPid = Number(process.env.DECKHAND_SANDBOX_OWNER_PID ?? 0);

function uiAsset() {
  const assets = path.join(imageDir, "dist", "assets");
  const file = fs.existsSync(assets) ? fs.readdirSync(assets).find((f) => /^index-[0-9a-f]+\.js$/.test(f)) : undefined;
  return file;
}
function version() {
  if (service === "ui") return uiAsset()?.replace(/^index-|\.js$/g, "") ?? "unbuilt";
  const file = path.join(imageDir, "VERSION");
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim() : "unknown";
}
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".json": "application/json", ".svg": "image/svg+xml" };

const hostStateDir = path.dirname(path.dirname(stateFile));

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url ?? "/", "http://container");
  if (url.pathname === "/health") {
    const body = JSON.stringify({ status: "ok", service, version: version() });
    res.writeHead(200, { "content-type": "application/json" });
    return void res.end(body);
  }
  // The sample app's smoke endpoints (seeds/000, seeds/003).
  if (service === "ui" && (await uiRoute(req, res, url, hostStateDir))) return;
  if (service === "gateway" && (await gatewayRoute(req, res, url, hostStateDir, version()))) return;
  if (service === "audit" && auditRoute(req, res, url)) return;
  if (service !== "ui") {
    res.writeHead(200, { "content-type": "application/json" });
    return void res.end(JSON.stringify({ service, version: version(), path: url.pathname }));
  }
  const dist = path.join(imageDir, "dist");
  let file = path.normalize(path.join(dist, decodeURIComponent(url.pathname)));
  if (!file.startsWith(dist)) return void res.writeHead(400).end();
  if (!fs.existsSync(file) || fs.statSync(file).isDirectory()) file = path.join(dist, "index.html"); // SPA fallback, like try_files
  if (!fs.existsSync(file)) return void res.writeHead(404).end("not found\n");
  res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream" });
  fs.createReadStream(file).pipe(res);
});

server.listen(0, "127.0.0.1", () => {
  const state = { service, pid: process.pid, port: server.address().port, version: version(), imageId, startedAt: new Date().toISOString() };
  fs.writeFileSync(`${stateFile}.tmp`, JSON.stringify(state));
  fs.renameSync(`${stateFile}.tmp`, stateFile);
  console.log(`${service} listening on ${state.port}, version ${state.version}`);
});

// Never outlive the sandbox that started us, even if it was killed without cleaning up
// (a killed owner may linger as an unreaped zombie, which still answers kill(pid, 0)).
function ownerAlive() {
  if (!ownerPid) return true;
  try {
    process.kill(ownerPid, 0);
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${ownerPid}/stat`, "utf8"));
  } catch {
    return false;
  }
}
setInterval(() => {
  if (!ownerAlive() || fs.existsSync(stopMarker) || !fs.existsSync(path.dirname(stateFile))) process.exit(0);
}, 500).unref();
process.on("SIGTERM", () => process.exit(0));
