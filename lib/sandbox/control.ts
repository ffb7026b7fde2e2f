// Control API for the sandbox: inspect hosts and switch faults at run time (used by the UI and e2e tests).
import http from "node:http";
import { authorize, verifySignature, type SandboxCredentials } from "./auth";
import { listenLoopback, type RunningServer } from "./awsJson";

export interface ControlHandlers {
  state(): unknown;
  setFault(instanceId: string, fault: unknown, on: unknown): void;
  setDraining(instanceId: string, draining: unknown): void;
  setThrottle(throttle: unknown): void;
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/**
 * GET /state (no secrets: endpoints, hosts, faults) needs only a loopback Host; every change needs a
 * request SigV4-signed with the sandbox's access key, like its AWS endpoints.
 */
export function startControlServer(handlers: ControlHandlers, credentials: SandboxCredentials): Promise<RunningServer> {
  return listenLoopback(
    http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const url = new URL(req.url ?? "/", "http://control");
      const denied = authorize(req, credentials) ?? (req.method === "GET" ? null : await verifySignature(req, Buffer.concat(chunks), credentials));
      if (denied && (denied.reason === "foreign-host" || req.method !== "GET")) return json(res, 403, { error: `Refused: ${denied.message}` });
      try {
        const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>) : {};
        const fault = /^\/faults\/([^/]+)$/.exec(url.pathname);
        if (req.method === "GET" && url.pathname === "/state") return json(res, 200, handlers.state());
        if (req.method === "PUT" && fault) {
          handlers.setFault(decodeURIComponent(fault[1]!), body.fault, body.on);
          return json(res, 200, handlers.state());
        }
        const target = /^\/alb\/([^/]+)$/.exec(url.pathname);
        if (req.method === "PUT" && target) {
          handlers.setDraining(decodeURIComponent(target[1]!), body.draining);
          return json(res, 200, handlers.state());
        }
        if (req.method === "PUT" && url.pathname === "/throttle") {
          handlers.setThrottle(body.throttle);
          return json(res, 200, handlers.state());
        }
        json(res, 404, { error: `No route ${req.method} ${url.pathname}. Routes: GET /state, PUT /faults/<instanceId> {fault, on}, PUT /alb/<instanceId> {draining}, PUT /throttle {throttle}` });
      } catch (error) {
        json(res, 400, { error: (error as Error).message });
      }
    }),
  );
}
