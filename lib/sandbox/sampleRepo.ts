// The generated "Aegis" sample repo the sandbox deploys from: a UI with a hashed bundle, two services, compose.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const UI_BUILD_SCRIPT = `// Writes dist/index.html and dist/assets/index-<hash>.js from src/main.js (the hash changes with the source).
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";

const source = readFileSync("src/main.js", "utf8");
const hash = createHash("sha256").update(source).digest("hex").slice(0, 8);
rmSync("dist", { recursive: true, force: true });
mkdirSync("dist/assets", { recursive: true });
writeFileSync(\`dist/assets/index-\${hash}.js\`, source);
writeFileSync(
  "dist/index.html",
  \`<!doctype html>\\n<html><head><title>Aegis</title><script type="module" src="/assets/index-\${hash}.js"></script></head><body><div id="app"></div></body></html>\\n\`,
);
console.log(\`built dist/assets/index-\${hash}.js\`);
`;

function uiSource(version: string): string {
  return `// Aegis UI ${version}\ndocument.getElementById("app").textContent = "Aegis UI ${version}";\n`;
}

function serviceApp(service: string): string {
  return `"""Aegis ${service} service (the sandbox serves it with a stand-in container)."""
from pathlib import Path
from http.server import BaseHTTPRequestHandler, HTTPServer
import json

VERSION = (Path(__file__).parent / "VERSION").read_text().strip()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"status": "ok", "service": "${service}", "version": VERSION}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    HTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
`;
}

/** seeds/002's unit, for the systemd profile: the image tag comes from /opt/atta/.env, which the deploy writes. */
const ATTA_UNIT = `[Unit]
Description=ATTA sample service (Deckhand sandbox, seeds/002)
After=docker.service
Requires=docker.service

[Service]
Type=simple
WorkingDirectory=/opt/atta
EnvironmentFile=/opt/atta/.env
ExecStartPre=/usr/bin/docker pull \${ECR_REGISTRY}/\${ECR_REPOSITORY}:\${IMAGE_TAG}
ExecStart=/usr/bin/docker run --rm \\
  --name atta \\
  --env-file /opt/atta/.env \\
  \${ECR_REGISTRY}/\${ECR_REPOSITORY}:\${IMAGE_TAG}
ExecStop=/usr/bin/docker stop atta
Restart=no
StandardOutput=journal
StandardError=journal

[Install]
WantedBy=multi-user.target
`;

const FILES: Record<string, string> = {
  // The systemd + image profile's bundle (seeds/002): VERSION and deploy/ at the root.
  VERSION: "1.0.0\n",
  "deploy/systemd/atta.service": ATTA_UNIT,
  "deploy/.env.example": "# Copied to /opt/atta/.env on the first deploy; the deploy sets ECR_REGISTRY, ECR_REPOSITORY and IMAGE_TAG.\nLOG_LEVEL=info\n",
  "README.md": "# Aegis (Deckhand sandbox sample)\n\nA small repo shaped like the real Aegis: `ui/`, `services/audit`, `services/gateway`, `infra/docker-compose.yml`.\nBuild the UI with `npm run build` in `ui/`.\n",
  ".gitignore": "ui/dist/\nnode_modules/\n",
  "ui/package.json": JSON.stringify({ name: "aegis-ui", version: "1.0.0", private: true, type: "module", scripts: { build: "node build.mjs" } }, null, 2) + "\n",
  "ui/build.mjs": UI_BUILD_SCRIPT,
  "ui/src/main.js": uiSource("1.0.0"),
  "ui/nginx.conf": "server {\n  listen 5173;\n  root /usr/share/nginx/html;\n  location /health { return 200 'ok'; }\n  location /api/audit/ { proxy_pass http://acp_audit:8000/; }\n  location /api/gateway/ { proxy_pass http://acp_gateway:8000/; }\n  location ~ ^/(auth|system|audit|health)/ { proxy_pass http://acp_gateway:8000; }\n  location / { try_files $uri /index.html; }\n}\n",
  "ui/Dockerfile": "FROM nginx:1.27-alpine\nCOPY nginx.conf /etc/nginx/conf.d/default.conf\nCOPY dist /usr/share/nginx/html\n",
  "services/audit/app.py": serviceApp("audit"),
  "services/audit/VERSION": "1.0.0\n",
  "services/audit/requirements.txt": "",
  "services/audit/Dockerfile": 'FROM python:3.12-slim\nWORKDIR /app\nCOPY . /app\nCMD ["python", "app.py"]\n',
  "services/gateway/app.py": serviceApp("gateway"),
  "services/gateway/VERSION": "1.0.0\n",
  "services/gateway/requirements.txt": "",
  "services/gateway/Dockerfile": 'FROM python:3.12-slim\nWORKDIR /app\nCOPY . /app\nCMD ["python", "app.py"]\n',
  "infra/docker-compose.yml": `services:
  ui:
    build:
      context: ../ui
    container_name: acp_ui
    ports:
      - "5173:5173"
  audit:
    build:
      context: ../services/audit
    container_name: acp_audit
  gateway:
    build:
      context: ../services/gateway
    container_name: acp_gateway
`,
};

/** Run the UI build (`npm run build` = `node build.mjs`) without needing npm. */
export function buildSampleUi(repoDir: string): void {
  execFileSync(process.execPath, ["build.mjs"], { cwd: path.join(repoDir, "ui"), stdio: "ignore" });
}

export function createSampleRepo(repoDir: string): void {
  for (const [file, content] of Object.entries(FILES)) {
    fs.mkdirSync(path.dirname(path.join(repoDir, file)), { recursive: true });
    fs.writeFileSync(path.join(repoDir, file), content);
  }
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=Deckhand Sandbox", "-c", "user.email=sandbox@deckhand.invalid", "-c", "init.defaultBranch=main", ...args], {
      cwd: repoDir,
      stdio: "ignore",
    });
  git("init", "-q");
  git("add", "-A");
  git("commit", "-q", "-m", "Aegis sample: version 1.0.0");
  buildSampleUi(repoDir);
}

/** Make a new version of one part (uncommitted, like an operator's working tree). The UI still needs `npm run build`. */
export function bumpSampleRepo(repoDir: string, what: "ui" | "audit" | "gateway" | "atta", version: string): void {
  if (what === "atta") fs.writeFileSync(path.join(repoDir, "VERSION"), `${version}\n`);
  else if (what === "ui") fs.writeFileSync(path.join(repoDir, "ui/src/main.js"), uiSource(version));
  else fs.writeFileSync(path.join(repoDir, "services", what, "VERSION"), `${version}\n`);
}
