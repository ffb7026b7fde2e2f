// Stand-in for docker's image commands on a sandbox host (seeds/002's systemd + image profile):
// login (ECR tokens are region-bound), pull (only tags pushed to the sandbox registry, only after a login
// for an ECR registry), run (a "container": the HTTP process container.mjs serving the image's tag as its
// version, in the foreground as a unit's ExecStart runs it), stop, rm, images.
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { applyStepFaults } from "./faults.mjs";
import { ECR_REGISTRY, ecrToken, hostPath } from "./system-root.mjs";

const stateDir = process.env.DECKHAND_SANDBOX_HOST_STATE;
const registryDir = process.env.DECKHAND_SANDBOX_REGISTRY_DIR;
const containerScript = path.join(path.dirname(fileURLToPath(import.meta.url)), "container.mjs");

function fail(message, code = 1) {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}
const readJson = (file) => {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
};
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** registry/repository:tag → parts; docker's own rules, narrowed to what the sandbox serves. */
function parseImage(ref) {
  const match = /^([a-z0-9][a-z0-9.-]*(?::[0-9]{1,5})?)\/([a-z0-9][a-z0-9._/-]*):([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$/.exec(ref ?? "");
  if (!match) fail(`invalid reference format: "${ref ?? ""}" (the sandbox needs registry/repository:tag)`, 125);
  return { registry: match[1], repository: match[2], tag: match[3] };
}
const configFile = () => path.join(stateDir, "docker-config.json");
const pulledDir = (image) => path.join(stateDir, "pulled", `${image.registry}/${image.repository}`.replace(/[/:]/g, "_"), image.tag);
const containerFile = (name) => path.join(stateDir, "containers", `${name}.json`);

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8").trim();
}

async function login(args) {
  let username;
  let passwordStdin = false;
  const rest = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--username" || args[i] === "-u") username = args[++i];
    else if (args[i] === "--password-stdin") passwordStdin = true;
    else rest.push(args[i]);
  }
  const registry = rest[0];
  if (!registry) fail("docker login: the sandbox needs a registry");
  if (!passwordStdin) fail("docker login: the sandbox only takes --password-stdin (a password on the command line lands in logs)");
  const password = await readStdin();
  if (!password) fail("Error: Cannot perform an interactive login from a non TTY device");
  const ecr = ECR_REGISTRY.exec(registry);
  if (ecr && (username !== "AWS" || password !== ecrToken(ecr[2]))) {
    fail(`Error response from daemon: login attempt to https://${registry}/v2/ failed with status: 400 Bad Request`);
  }
  const config = readJson(configFile()) ?? { auths: {} };
  config.auths[registry] = { at: new Date().toISOString() };
  fs.writeFileSync(configFile(), JSON.stringify(config));
  process.stdout.write("Login Succeeded\n");
}

function pull(args) {
  const ref = args.find((a) => !a.startsWith("-"));
  const image = parseImage(ref);
  if (ECR_REGISTRY.test(image.registry) && !readJson(configFile())?.auths?.[image.registry]) {
    fail(`Error response from daemon: Head "https://${image.registry}/v2/${image.repository}/manifests/${image.tag}": no basic auth credentials`);
  }
  const pushed = registryDir ? path.join(registryDir, image.registry, image.repository, `${image.tag}.json`) : "";
  const manifest = pushed && readJson(pushed);
  if (!manifest) fail(`Error response from daemon: manifest for ${ref} not found: manifest unknown: Requested image not found`);
  const dir = pulledDir(image);
  fs.mkdirSync(dir, { recursive: true });
  // The "image": what container.mjs serves; its version is the tag the image was pushed as.
  fs.writeFileSync(path.join(dir, "VERSION"), `${manifest.version ?? image.tag}\n`);
  fs.writeFileSync(path.join(dir, "image.json"), JSON.stringify({ ref, digest: manifest.digest }));
  process.stdout.write(`${image.tag}: Pulling from ${image.repository}\nDigest: ${manifest.digest}\nStatus: Downloaded newer image for ${ref}\n${ref}\n`);
}

async function run(args) {
  let name;
  let rm = false;
  const envFiles = [];
  let i = 0;
  for (; i < args.length && args[i].startsWith("-"); i++) {
    const arg = args[i];
    if (arg === "--rm") rm = true;
    else if (arg === "--name") name = args[++i];
    else if (arg.startsWith("--name=")) name = arg.slice(7);
    else if (arg === "--env-file") envFiles.push(args[++i]);
    else if (["-v", "--volume", "-p", "--publish", "-e", "--env", "--network", "--restart"].includes(arg)) i++;
    else if (arg === "-d" || arg === "--detach") fail("the sandbox runs containers in the foreground only (as a systemd unit's ExecStart does)", 125);
  }
  const ref = args[i];
  const image = parseImage(ref);
  for (const file of envFiles) if (!fs.existsSync(hostPath(file))) fail(`docker: open ${file}: no such file or directory.`, 125);
  const dir = pulledDir(image);
  if (!fs.existsSync(path.join(dir, "image.json"))) fail(`Unable to find image '${ref}' locally\ndocker: Error response from daemon: pull access denied for ${image.registry}/${image.repository}, repository does not exist or may require 'docker login'.`, 125);
  name ??= image.repository.split("/").pop();
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) fail(`docker: Error response from daemon: Invalid container name (${name}).`, 125);
  const current = readJson(containerFile(name));
  if (current && alive(current.pid)) fail(`docker: Error response from daemon: Conflict. The container name "/${name}" is already in use.`, 125);
  fs.rmSync(containerFile(name), { force: true });
  const child = spawn(process.execPath, [containerScript, name, dir, containerFile(name), JSON.parse(fs.readFileSync(path.join(dir, "image.json"), "utf8")).digest], { stdio: "inherit", cwd: dir });
  const forward = (signal) => () => child.kill(signal);
  process.on("SIGTERM", forward("SIGTERM"));
  process.on("SIGINT", forward("SIGINT"));
  const code = await new Promise((resolve) => child.on("close", (c, signal) => resolve(signal ? 128 + 15 : (c ?? 1))));
  if (rm) fs.rmSync(containerFile(name), { force: true });
  process.exit(code);
}

async function stop(args) {
  for (const name of args.filter((a) => !a.startsWith("-"))) {
    const current = readJson(containerFile(name));
    if (!current) fail(`Error response from daemon: No such container: ${name}`);
    if (alive(current.pid)) {
      process.kill(current.pid, "SIGTERM");
      for (let n = 0; n < 100 && alive(current.pid); n++) await sleep(20);
      if (alive(current.pid)) process.kill(current.pid, "SIGKILL");
    }
    process.stdout.write(`${name}\n`);
  }
}

function rmContainers(args) {
  const force = args.includes("-f") || args.includes("--force");
  for (const name of args.filter((a) => !a.startsWith("-"))) {
    const current = readJson(containerFile(name));
    if (!current) {
      if (force) continue;
      fail(`Error response from daemon: No such container: ${name}`);
    }
    if (alive(current.pid)) {
      if (!force) fail(`Error response from daemon: cannot remove container "/${name}": container is running: stop the container before removing or force remove`);
      process.kill(current.pid, "SIGKILL");
    }
    fs.rmSync(containerFile(name), { force: true });
    process.stdout.write(`${name}\n`);
  }
}

export async function dockerImageCommand(args) {
  if (!stateDir) fail("docker: the sandbox stand-in needs DECKHAND_SANDBOX_HOST_STATE");
  const [command, ...rest] = args;
  if (command !== "login") await applyStepFaults();
  switch (command) {
    case "login":
      return login(rest);
    case "pull":
      return pull(rest);
    case "run":
      return run(rest);
    case "stop":
      return stop(rest);
    case "rm":
      return rmContainers(rest);
    case "version":
      process.stdout.write("Docker version 27.3.1 (deckhand sandbox stand-in)\n");
      return;
    default:
      fail(`docker: '${command ?? ""}' is not available on this sandbox host (compose, login, pull, run, stop, rm)`);
  }
}

export const imageDigest = () => `sha256:${crypto.randomBytes(32).toString("hex")}`;
