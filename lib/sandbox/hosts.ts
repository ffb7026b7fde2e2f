// One simulated EC2 host: its own filesystem, a script runner that behaves like the SSM agent,
// "containers" started by the docker stand-in, and a front server standing in for the host's nginx.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { listenLoopback, type RunningServer } from "./awsJson";
import type { FaultName } from "./faults";
import { changesHost, dnsStillPoisoned } from "./host-faults";

export { FAULT_NAMES, type FaultName } from "./faults";

export interface ContainerInfo {
  service: string;
  pid: number;
  port: number;
  version: string;
  imageId: string;
  startedAt: string;
  running: boolean;
}

export interface ExecutionResult {
  exitCode: number;
  reason: "exited" | "timeout" | "cancelled";
}

export interface Execution {
  done: Promise<ExecutionResult>;
  cancel(): void;
}

export interface ExecuteOptions {
  workDir: string;
  timeoutMs: number;
  onStdout(chunk: string): void;
  onStderr(chunk: string): void;
}

export interface HostOptions {
  root: string;
  instanceId: string;
  name: string;
  /** The path every host's script sees as its own filesystem (bind-mounted per host). */
  mountPoint: string;
  binDir: string;
  s3Endpoint: string;
  /** What the host's tools sign S3 requests with (a real host's instance profile). */
  credentials: { accessKeyId: string; secretAccessKey: string };
  region: string;
  slowMs: number;
  /** This host's clock minus the true time (CloudWatch events carry the host's clock). */
  clockSkewMs?: number;
}

const SIGKILL_EXIT = 137;
const BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export class SimulatedHost {
  readonly instanceId: string;
  readonly name: string;
  readonly fsRoot: string;
  readonly stateDir: string;
  readonly faults = new Set<FaultName>();
  readonly clockSkewMs: number;
  port = 0;
  private front?: RunningServer;
  private running = new Set<ChildProcess>();
  private dnsCounter = 0;

  constructor(private options: HostOptions) {
    this.instanceId = options.instanceId;
    this.name = options.name;
    this.fsRoot = path.join(options.root, "hosts", options.instanceId, "fs");
    this.stateDir = path.join(options.root, "hosts", options.instanceId, "state");
    this.clockSkewMs = options.clockSkewMs ?? 0;
    for (const dir of [this.fsRoot, path.join(this.stateDir, "containers"), path.join(this.stateDir, "images")]) {
      fs.mkdirSync(dir, { recursive: true });
    }
  }

  async startFrontServer(): Promise<void> {
    this.front = await listenLoopback(http.createServer((req, res) => this.serveFront(req, res)));
    this.port = Number(new URL(this.front.url).port);
  }

  /** The host's own clock (skewed), as the agent stamps CloudWatch events with it. */
  now(): number {
    return Date.now() + this.clockSkewMs;
  }

  /** The stand-in tools, minus `aws` when the host has no AWS CLI (a stock Ubuntu AMI). */
  private toolsDir(): string {
    if (!this.faults.has("no-aws-cli")) return this.options.binDir;
    const dir = path.join(this.options.root, "hosts", this.instanceId, "bin-no-aws-cli");
    if (!fs.existsSync(dir)) {
      fs.mkdirSync(dir, { recursive: true });
      for (const tool of fs.readdirSync(this.options.binDir)) {
        // A wrapper, not a symlink: the stand-ins find their tools relative to their own path.
        if (tool !== "aws") fs.writeFileSync(path.join(dir, tool), `#!/bin/sh\nexec '${path.join(this.options.binDir, tool)}' "$@"\n`, { mode: 0o755 });
      }
    }
    return dir;
  }

  /**
   * Run a script as the SSM agent does (agent/plugins/runscript): the file `_script.sh` (mode 0700) in the
   * orchestration folder, run as `sh -c <file>` from that folder (a shebang picks the interpreter), HOME
   * unset (the agent passes its systemd environment on), own process group, killed whole on timeout/cancel.
   */
  execute(script: string, options: ExecuteOptions): Execution {
    fs.mkdirSync(options.workDir, { recursive: true });
    const scriptPath = path.join(options.workDir, "_script.sh");
    fs.writeFileSync(scriptPath, script, { mode: 0o700 });
    fs.chmodSync(scriptPath, 0o700);
    const failFile = path.join(options.workDir, "inject-failure");
    const injectFailure = changesHost(script) && this.faults.delete("fail-next");
    if (injectFailure) fs.writeFileSync(failFile, "");

    if (this.faults.has("stale") && changesHost(script)) return this.acknowledgeWithoutRunning(script, options);

    // No HOME, no USER, no login shell: only what the agent's systemd unit gives it.
    const env: Record<string, string> = {
      PATH: `${this.toolsDir()}:${path.dirname(process.execPath)}:${BASE_PATH}`,
      LANG: "C.UTF-8",
      DECKHAND_SANDBOX_HOST_STATE: this.stateDir,
      DECKHAND_SANDBOX_INSTANCE_ID: this.instanceId,
      DECKHAND_SANDBOX_S3_ENDPOINT: this.options.s3Endpoint,
      AWS_ACCESS_KEY_ID: this.options.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: this.options.credentials.secretAccessKey,
      AWS_REGION: this.options.region,
      DECKHAND_SANDBOX_OWNER_PID: String(process.pid),
      // The host's own /opt, /etc/systemd/system, … (the systemd profile's stand-ins), and the image registry.
      DECKHAND_SANDBOX_SYSTEM_ROOT: this.options.mountPoint,
      DECKHAND_SANDBOX_REGISTRY_DIR: path.join(this.options.root, "registry"),
    };
    if (this.faults.has("slow")) env.DECKHAND_SANDBOX_SLOW_MS = String(this.options.slowMs);
    if (this.faults.has("hang")) env.DECKHAND_SANDBOX_HANG = "1";
    if (injectFailure) env.DECKHAND_SANDBOX_FAIL_FILE = failFile;

    // A private mount namespace lets each host see its own files at the same absolute repo path.
    const interpreter = ["sh", "-c", scriptPath];
    const child = spawn(
      "unshare",
      [
        "-m",
        "--",
        "/bin/sh",
        "-c",
        'mount --bind "$1" "$2" && cd "$3" && shift 3 && exec "$@"',
        "sandbox-host",
        this.fsRoot,
        this.options.mountPoint,
        options.workDir,
        ...interpreter,
      ],
      { cwd: options.workDir, env: env as NodeJS.ProcessEnv, detached: true, stdio: ["ignore", "pipe", "pipe"] },
    );
    this.running.add(child);
    child.stdout.setEncoding("utf8").on("data", options.onStdout);
    child.stderr.setEncoding("utf8").on("data", options.onStderr);

    let reason: ExecutionResult["reason"] = "exited";
    const killGroup = (why: ExecutionResult["reason"]) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      reason = why;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => killGroup("timeout"), options.timeoutMs);
    const done = new Promise<ExecutionResult>((resolve) => {
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        this.running.delete(child);
        let exitCode = signal ? SIGKILL_EXIT : (code ?? 1);
        if (reason === "exited" && injectFailure && fs.existsSync(failFile)) {
          // The script never reached a step that consumes the injected failure: fail it anyway.
          options.onStderr("deckhand-sandbox: injected failure (fail-next): the host aborted the script\n");
          exitCode = 1;
        }
        resolve({ exitCode, reason });
      });
      child.on("error", (error) => {
        clearTimeout(timer);
        this.running.delete(child);
        options.onStderr(`failed to start the script: ${error.message}\n`);
        resolve({ exitCode: 1, reason: "exited" });
      });
    });
    return { done, cancel: () => killGroup("cancelled") };
  }

  /** The "stale" fault: the host reports success with believable output but changes nothing. */
  private acknowledgeWithoutRunning(script: string, options: ExecuteOptions): Execution {
    const lines: string[] = [];
    for (const match of script.matchAll(/docker compose (build|up)\b([^\n]*)/g)) {
      const services = match[2]!.split(/\s+/).filter((word) => word && !word.startsWith("-")).map((w) => w.replace(/^'|'$/g, ""));
      for (const service of services) {
        lines.push(match[1] === "build" ? ` ${service}  Built` : ` Container infra-${service}-1  Started`);
      }
    }
    let timer: NodeJS.Timeout | undefined;
    let settle: (result: ExecutionResult) => void = () => {};
    const done = new Promise<ExecutionResult>((resolve) => {
      settle = resolve;
      timer = setTimeout(() => {
        if (lines.length) options.onStderr(lines.join("\n") + "\n");
        resolve({ exitCode: 0, reason: "exited" });
      }, 200);
    });
    return {
      done,
      cancel: () => {
        clearTimeout(timer);
        settle({ exitCode: SIGKILL_EXIT, reason: "cancelled" });
      },
    };
  }

  containers(): ContainerInfo[] {
    const dir = path.join(this.stateDir, "containers");
    return fs
      .readdirSync(dir)
      .filter((file) => file.endsWith(".json"))
      .flatMap((file) => {
        try {
          const info = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")) as Omit<ContainerInfo, "running">;
          return [{ ...info, running: isAlive(info.pid) }];
        } catch {
          return []; // being rewritten by the docker stand-in
        }
      })
      .sort((a, b) => a.service.localeCompare(b.service));
  }

  /** systemd units the stand-in systemctl started on this host: active while the main process lives. */
  units(): { unit: string; active: boolean; pid: number | null }[] {
    const dir = path.join(this.stateDir, "systemd");
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir)
      .filter((file) => file.endsWith(".service.json"))
      .flatMap((file) => {
        try {
          const info = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")) as { unit: string; pid?: number; result?: string };
          return [{ unit: info.unit, pid: info.pid ?? null, active: info.result !== "failed" && info.pid != null && isAlive(info.pid) }];
        } catch {
          return [];
        }
      });
  }

  composeLog(): string[] {
    const file = path.join(this.stateDir, "compose.log");
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
  }

  private serveFront(req: http.IncomingMessage, res: http.ServerResponse): void {
    // An offline host does not answer at all.
    if (this.faults.has("offline")) {
      req.socket.destroy();
      return;
    }
    const url = req.url ?? "/";
    const api = /^\/api\/([a-z0-9_-]+)(\/.*)?$/.exec(url.split("?")[0]!);
    const service = api ? api[1]! : "ui";
    const upstreamPath = api ? (api[2] ?? "/") + (url.includes("?") ? url.slice(url.indexOf("?")) : "") : url;
    if (api && dnsStillPoisoned(this) && this.dnsCounter++ % 2 === 0) {
      // Docker's embedded DNS poisoned: nginx cannot resolve the upstream container on every other request.
      return void badGateway(res, `could not resolve acp_${service} (3: Host not found)`);
    }
    const container = this.containers().find((c) => c.service === service && c.running);
    if (!container) return void badGateway(res, `no running container for ${service}`);
    const upstream = http.request(
      { host: "127.0.0.1", port: container.port, method: req.method, path: upstreamPath, headers: req.headers },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    upstream.on("error", () => badGateway(res, `upstream ${service} refused the connection`));
    req.pipe(upstream);
  }

  /** Kill running scripts and this host's containers; leaves a marker so late-started containers exit too. */
  async stop(): Promise<void> {
    fs.writeFileSync(path.join(this.stateDir, "stopped"), "");
    const exits = [...this.running].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once("close", () => resolve());
          try {
            process.kill(-child.pid!, "SIGKILL");
          } catch {
            resolve();
          }
        }),
    );
    await Promise.all(exits);
    const pids = this.containers().map((c) => c.pid);
    for (const pid of pids) killQuietly(pid);
    await waitUntil(() => pids.every((pid) => !isAlive(pid)), 3000);
    await this.front?.close();
  }
}

function badGateway(res: http.ServerResponse, detail: string): void {
  if (res.headersSent) return void res.destroy();
  const body = `<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><!-- ${detail} --></body></html>\n`;
  res.writeHead(502, { "content-type": "text/html", "x-deckhand-upstream-error": detail, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

/** Alive and not a zombie (orphaned containers may never be reaped when PID 1 does not reap). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

export async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}
