// Stand-in for `docker compose` on a sandbox host: build = copy the build context into an image dir,
// up = replace the service's container process. Every call is appended to the host's compose log.
import { spawn, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { dnsMarker } from "./app.mjs";
import { applyStepFaults } from "./faults.mjs";

const stateDir = process.env.DECKHAND_SANDBOX_HOST_STATE;
const containerScript = path.join(path.dirname(fileURLToPath(import.meta.url)), "container.mjs");
const args = process.argv.slice(2);

function fail(message, code = 1) {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}
if (!stateDir) fail("docker: the sandbox stand-in needs DECKHAND_SANDBOX_HOST_STATE");
if (args[0] !== "compose") {
  const { dockerImageCommand } = await import("./docker-image.mjs");
  await dockerImageCommand(args);
  process.exit(0);
}

// Split global compose options from the subcommand.
let composeFile;
let rest = args.slice(1);
while (rest[0]?.startsWith("-")) {
  if (rest[0] === "-f" || rest[0] === "--file" || rest[0] === "-p" || rest[0] === "--project-name") {
    if (rest[0] === "-f" || rest[0] === "--file") composeFile = rest[1];
    rest = rest.slice(2);
  } else rest = rest.slice(1);
}
// `docker compose version`: what a pre-flight asks to know the v2 plugin is there (not a deploy step, not logged).
if (rest[0] === "version") {
  process.stdout.write("Docker Compose version v2.29.7 (deckhand sandbox stand-in)\n");
  process.exit(0);
}
fs.appendFileSync(path.join(stateDir, "compose.log"), `${rest.join(" ")}\n`);
const [subcommand, ...subArgs] = rest;
const flags = new Set(subArgs.filter((a) => a.startsWith("-")));
const named = subArgs.filter((a) => !a.startsWith("-"));

composeFile = path.resolve(composeFile ?? (fs.existsSync("docker-compose.yml") ? "docker-compose.yml" : "compose.yaml"));
if (!fs.existsSync(composeFile)) fail("no configuration file provided: not found", 14);
const project = path.basename(path.dirname(composeFile));
const services = parseCompose(fs.readFileSync(composeFile, "utf8"));
for (const name of named) {
  if (subcommand !== "logs" && !services[name]) fail(`no such service: ${name}`);
}
const targets = named.length ? named : Object.keys(services);

/** Just enough YAML for a compose file: services.<name>.build (string or {context}). */
function parseCompose(text) {
  const result = {};
  let inServices = false;
  let current;
  let inBuild = false;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\s+#.*$/, "");
    if (!line.trim() || line.trim().startsWith("#")) continue;
    const indent = line.length - line.trimStart().length;
    const [key, ...valueParts] = line.trim().split(":");
    const value = valueParts.join(":").trim().replace(/^["']|["']$/g, "");
    if (indent === 0) {
      inServices = key === "services";
      current = undefined;
      continue;
    }
    if (!inServices) continue;
    if (indent === 2) {
      current = key;
      result[current] = { build: undefined };
      inBuild = false;
    } else if (current && indent === 4) {
      inBuild = key === "build";
      if (inBuild && value) result[current].build = value;
    } else if (current && inBuild && key === "context") {
      result[current].build = value;
    }
  }
  return result;
}

const imageDir = (service) => path.join(stateDir, "images", service);
const imageMeta = (service) => path.join(stateDir, "images", `${service}.json`);
const containerFile = (service) => path.join(stateDir, "containers", `${service}.json`);
const readJson = (file) => {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
};
// A killed container whose parent is gone may linger as a zombie under a PID 1 that does not reap: that is dead too.
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// Compose prints its progress on stderr, as the real one does.
const progress = (line) => process.stderr.write(`${line}\n`);

/**
 * The Dockerfile's single-line RUN instructions, run as a build does: `/bin/sh -c` in the image's
 * files, output streamed as it is printed (BuildKit prints it on stderr), a failure fails the build.
 */
function runSteps(service, contextDir) {
  const dockerfile = path.join(contextDir, "Dockerfile");
  if (!fs.existsSync(dockerfile)) return;
  const steps = fs.readFileSync(dockerfile, "utf8").split("\n").filter((line) => /^RUN\s+\S/.test(line) && !line.trimEnd().endsWith("\\"));
  steps.forEach((line, i) => {
    const command = line.replace(/^RUN\s+/, "").trim();
    progress(`#${7 + i} [${service} ${3 + i}/${2 + steps.length + 1}] RUN ${command}`);
    const result = spawnSync("/bin/sh", ["-c", command], { cwd: imageDir(service), stdio: ["ignore", 2, 2] });
    if (result.status !== 0) fail(`failed to solve: process "/bin/sh -c ${command}" did not complete successfully: exit code: ${result.status ?? 1}`, 17);
  });
}

function build(service, noCache) {
  const context = services[service].build;
  if (!context) return progress(` ${service} Skipped: no build section`);
  const contextDir = path.resolve(path.dirname(composeFile), context);
  if (!fs.existsSync(contextDir)) fail(`unable to prepare context: path "${contextDir}" not found`, 17);
  if (process.env.DECKHAND_SANDBOX_FAIL_FILE && fs.existsSync(process.env.DECKHAND_SANDBOX_FAIL_FILE)) {
    fs.rmSync(process.env.DECKHAND_SANDBOX_FAIL_FILE);
    progress(`#5 [${service} 2/3] RUN pip install -r requirements.txt`);
    progress(`#5 ERROR: process "/bin/sh -c pip install -r requirements.txt" did not complete successfully: exit code: 1`);
    fail(`failed to solve: process "/bin/sh -c pip install -r requirements.txt" did not complete successfully: exit code: 1`, 17);
  }
  progress(`#1 [${service} internal] load build definition from Dockerfile`);
  if (!noCache && fs.existsSync(imageDir(service))) {
    // Docker's layer cache: without --no-cache the old COPY layer is reused and new files are not picked up.
    progress(`#5 [${service} 2/3] COPY . /app`);
    progress(`#5 CACHED`);
    progress(` ${service}  Built`);
    return;
  }
  fs.rmSync(imageDir(service), { recursive: true, force: true });
  fs.cpSync(contextDir, imageDir(service), { recursive: true });
  const id = `sha256:${crypto.randomBytes(32).toString("hex")}`;
  fs.writeFileSync(imageMeta(service), JSON.stringify({ service, id, builtAt: new Date().toISOString(), context: contextDir }));
  progress(`#5 [${service} 2/3] COPY . /app`);
  progress(`#5 DONE 0.1s`);
  runSteps(service, contextDir);
  progress(`#6 exporting to image`);
  progress(`#6 writing image ${id} done`);
  progress(` ${service}  Built`);
}

async function stopContainer(service) {
  const current = readJson(containerFile(service));
  if (!current) return;
  if (alive(current.pid)) {
    process.kill(current.pid, "SIGTERM");
    for (let i = 0; i < 100 && alive(current.pid); i++) await sleep(20);
    if (alive(current.pid)) process.kill(current.pid, "SIGKILL");
  }
  fs.rmSync(containerFile(service), { force: true });
}

async function up(service, forceRecreate) {
  const name = `${project}-${service}-1`;
  let image = readJson(imageMeta(service));
  if (!image) {
    progress(` ${service} Pulling / building: image not found`);
    build(service, false);
    image = readJson(imageMeta(service));
  }
  const current = readJson(containerFile(service));
  if (current && alive(current.pid) && current.imageId === image.id && !forceRecreate) {
    progress(` Container ${name}  Running`);
    return;
  }
  if (current) {
    progress(` Container ${name}  Recreate`);
    await stopContainer(service);
    progress(` Container ${name}  Recreated`);
  } else progress(` Container ${name}  Created`);
  progress(` Container ${name}  Starting`);
  const log = fs.openSync(path.join(stateDir, "containers", `${service}.log`), "a");
  // detached = setsid: the container is outside the script's process group, so killing the script leaves it running.
  const child = spawn(process.execPath, [containerScript, service, imageDir(service), containerFile(service), image.id], {
    detached: true,
    stdio: ["ignore", log, log],
    cwd: imageDir(service),
  });
  child.unref();
  for (let i = 0; i < 250; i++) {
    const started = readJson(containerFile(service));
    if (started?.pid === child.pid) {
      // A fresh gateway container gets a fresh view of Docker's DNS: this is why seeds/000's fix works.
      if (service === "gateway") fs.rmSync(dnsMarker(stateDir), { force: true });
      progress(` Container ${name}  Started`);
      return;
    }
    await sleep(20);
  }
  fail(`Error response from daemon: container ${name} did not start`);
}

await applyStepFaults();
switch (subcommand) {
  case "build":
    for (const service of targets) build(service, flags.has("--no-cache"));
    break;
  case "up":
    if (!flags.has("-d") && !flags.has("--detach")) fail("the sandbox only supports detached mode: docker compose up -d");
    for (const service of targets) await up(service, flags.has("--force-recreate"));
    break;
  case "ps": {
    process.stdout.write("NAME                 SERVICE    STATUS    PORTS\n");
    for (const service of Object.keys(services)) {
      const c = readJson(containerFile(service));
      if (c) process.stdout.write(`${`${project}-${service}-1`.padEnd(21)}${service.padEnd(11)}${alive(c.pid) ? "Up" : "Exited"}      127.0.0.1:${c.port}\n`);
    }
    break;
  }
  case "logs":
    for (const service of targets) {
      const file = path.join(stateDir, "containers", `${service}.log`);
      if (fs.existsSync(file)) for (const line of fs.readFileSync(file, "utf8").split("\n").filter(Boolean)) process.stdout.write(`${service}-1  | ${line}\n`);
    }
    break;
  case "stop":
  case "down":
    for (const service of targets) await stopContainer(service);
    break;
  default:
    fail(`docker compose ${subcommand ?? ""}: not available in the sandbox (build, up -d, ps, logs, stop, down)`);
}
