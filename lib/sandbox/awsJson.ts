// A minimal AWS JSON 1.1 server: the wire shape @aws-sdk/* clients speak for SSM and CloudWatch Logs.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { authorize, jsonAuthError, verifySignature, type SandboxCredentials } from "./auth";

/** An error the SDK turns into an exception whose `name` is `code`. */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export type Operation = (input: Record<string, unknown>) => unknown | Promise<unknown>;

/** Token bucket: `ratePerSecond` refill, `burst` capacity. */
export class TokenBucket {
  private tokens: number;
  private last = Date.now();
  constructor(
    private ratePerSecond: number,
    private burst: number,
  ) {
    this.tokens = burst;
  }
  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export interface JsonServiceOptions {
  /** e.g. "AmazonSSM" or "Logs_20140328": the part of X-Amz-Target before the dot. */
  targetPrefix: string;
  operations: Record<string, Operation>;
  /** Checked on each request; null means unlimited. */
  throttle?: () => TokenBucket | null;
  onThrottled?: () => void;
  /** Every request must be SigV4-signed with this access key (see ./auth). */
  credentials: SandboxCredentials;
}

export interface RunningServer {
  url: string;
  server: http.Server;
  close(): Promise<void>;
}

export async function listenLoopback(server: http.Server): Promise<RunningServer> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(res: http.ServerResponse, status: number, body: unknown, errorType?: string): void {
  const payload = JSON.stringify(body);
  const headers: http.OutgoingHttpHeaders = {
    "content-type": "application/x-amz-json-1.1",
    "content-length": Buffer.byteLength(payload),
    "x-amzn-requestid": randomUUID(),
  };
  if (errorType) headers["x-amzn-errortype"] = errorType;
  res.writeHead(status, headers);
  res.end(payload);
}

export function startJsonService(options: JsonServiceOptions): Promise<RunningServer> {
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    try {
      const denied = authorize(req, options.credentials) ?? (await verifySignature(req, Buffer.concat(chunks), options.credentials));
      if (denied) {
        const { code, message, status } = jsonAuthError(denied);
        throw new AwsError(code, message, status);
      }
      if (req.method !== "POST") throw new AwsError("UnknownOperationException", "Only POST / is served");
      const target = String(req.headers["x-amz-target"] ?? "");
      const [prefix, name] = target.split(".");
      const operation = prefix === options.targetPrefix ? options.operations[name ?? ""] : undefined;
      if (!operation) throw new AwsError("UnknownOperationException", `Unknown operation ${target || "(no X-Amz-Target)"}`);
      const bucket = options.throttle?.();
      if (bucket && !bucket.take()) {
        options.onThrottled?.();
        throw new AwsError("ThrottlingException", "Rate exceeded");
      }
      const text = Buffer.concat(chunks).toString("utf8");
      let input: Record<string, unknown>;
      try {
        input = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        throw new AwsError("SerializationException", "Request body is not valid JSON");
      }
      send(res, 200, (await operation(input)) ?? {});
    } catch (error) {
      if (error instanceof AwsError) {
        send(res, error.status, { __type: error.code, message: error.message }, error.code);
      } else {
        send(res, 500, { __type: "InternalServerError", message: String(error) }, "InternalServerError");
      }
    }
  });
  return listenLoopback(server);
}

/** Page a list with an opaque offset token, as AWS list calls do. */
export function paginate<T>(items: T[], maxResults: unknown, nextToken: unknown, defaultMax: number): { page: T[]; nextToken?: string } {
  const max = typeof maxResults === "number" && maxResults > 0 ? maxResults : defaultMax;
  let start = 0;
  if (typeof nextToken === "string" && nextToken) {
    start = Number(Buffer.from(nextToken, "base64url").toString("utf8"));
    if (!Number.isInteger(start) || start < 0) throw new AwsError("InvalidNextToken", "The specified token isn't valid.");
  }
  const page = items.slice(start, start + max);
  const end = start + page.length;
  return { page, nextToken: end < items.length ? Buffer.from(String(end)).toString("base64url") : undefined };
}
