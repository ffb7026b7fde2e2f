// ALB stand-in: round-robin over healthy hosts, health checks on /health, 3 failures out / 2 successes back in.
import http from "node:http";
import { listenLoopback, type RunningServer } from "./awsJson";
import type { SimulatedHost } from "./hosts";

const UNHEALTHY_THRESHOLD = 3;
const HEALTHY_THRESHOLD = 2;

export interface AlbTargetView {
  instanceId: string;
  healthy: boolean;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  lastCheckedAt?: string;
  lastError?: string;
  /** Deregistered and finishing in-flight requests: no new requests, then gone from the group. */
  draining?: boolean;
}

export class Alb {
  private targets: AlbTargetView[];
  private next = 0;
  private server?: RunningServer;
  private timer?: NodeJS.Timeout;
  url = "";

  constructor(
    private hosts: SimulatedHost[],
    private healthIntervalMs: number,
  ) {
    this.targets = hosts.map((h) => ({ instanceId: h.instanceId, healthy: true, consecutiveFailures: 0, consecutiveSuccesses: 0 }));
  }

  view(): AlbTargetView[] {
    return this.targets.map((t) => ({ ...t }));
  }

  /** Take a target out of rotation as a deregistration does (it reports `draining`), or put it back. */
  setDraining(instanceId: string, draining: boolean): void {
    const target = this.targets.find((t) => t.instanceId === instanceId);
    if (!target) throw new Error(`Unknown target "${instanceId}"`);
    target.draining = draining || undefined;
  }

  async start(): Promise<void> {
    this.server = await listenLoopback(http.createServer((req, res) => this.route(req, res)));
    this.url = this.server.url;
    const tick = async () => {
      await Promise.all(this.hosts.map((host, index) => this.check(host, this.targets[index]!)));
      if (this.server) this.timer = setTimeout(tick, this.healthIntervalMs);
    };
    this.timer = setTimeout(tick, this.healthIntervalMs);
  }

  private async check(host: SimulatedHost, target: AlbTargetView): Promise<void> {
    let error: string | undefined;
    try {
      const response = await fetch(`http://127.0.0.1:${host.port}/health`, { signal: AbortSignal.timeout(Math.max(200, Math.min(2000, this.healthIntervalMs))) });
      await response.arrayBuffer();
      if (response.status < 200 || response.status > 399) error = `HTTP ${response.status}`;
    } catch (e) {
      error = (e as Error).message;
    }
    target.lastCheckedAt = new Date().toISOString();
    target.lastError = error;
    if (error) {
      target.consecutiveSuccesses = 0;
      target.consecutiveFailures++;
      if (target.consecutiveFailures >= UNHEALTHY_THRESHOLD) target.healthy = false;
    } else {
      target.consecutiveFailures = 0;
      target.consecutiveSuccesses++;
      if (target.consecutiveSuccesses >= HEALTHY_THRESHOLD) target.healthy = true;
    }
  }

  private route(req: http.IncomingMessage, res: http.ServerResponse): void {
    const healthy = this.hosts.filter((_, index) => this.targets[index]!.healthy && !this.targets[index]!.draining);
    if (healthy.length === 0) {
      res.writeHead(503, { "content-type": "text/html" });
      return void res.end("<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>\n");
    }
    const host = healthy[this.next++ % healthy.length]!;
    const upstream = http.request(
      { host: "127.0.0.1", port: host.port, method: req.method, path: req.url, headers: { ...req.headers, "x-forwarded-for": "127.0.0.1" } },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, { ...upstreamRes.headers, "x-deckhand-host": host.instanceId });
        upstreamRes.pipe(res);
      },
    );
    upstream.on("error", () => {
      if (res.headersSent) return void res.destroy();
      res.writeHead(502, { "content-type": "text/html", "x-deckhand-host": host.instanceId });
      res.end("<html><body><h1>502 Bad Gateway</h1></body></html>\n");
    });
    req.pipe(upstream);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    const server = this.server;
    this.server = undefined;
    await server?.close();
  }
}
