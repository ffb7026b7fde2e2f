// In front of fauxqs, the parts of S3 it is kinder about than AWS:
// - conditional writes: `If-None-Match: *` on PutObject and on CompleteMultipartUpload answers 412
//   PreconditionFailed when the key exists; `If-Match: <etag>` on PutObject and DeleteObject answers
//   412 when the object's ETag differs and 404 NoSuchKey when there is no object (the bucket lock);
// - bucket lifecycle configuration: fauxqs accepts a PUT and forgets it, and answers GET with an empty
//   200; S3 keeps the rules and answers 404 NoSuchLifecycleConfiguration for a bucket without any.
// Everything else is passed through untouched (bodies streamed, the Host header kept for signatures).
import { randomUUID } from "node:crypto";
import http from "node:http";
import { listenLoopback, type RunningServer } from "./awsJson";
import { signedFetch } from "./tools/sigv4.mjs";

function s3Error(res: http.ServerResponse, status: number, code: string, message: string, extra = ""): void {
  const requestId = randomUUID();
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>${extra}<RequestId>${requestId}</RequestId></Error>`;
  res.writeHead(status, { "content-type": "application/xml", "content-length": Buffer.byteLength(body), "x-amz-request-id": requestId });
  res.end(body);
}

function preconditionFailed(res: http.ServerResponse, key: string, condition = "If-None-Match"): void {
  const requestId = randomUUID();
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code>` +
    `<Message>At least one of the pre-conditions you specified did not hold</Message>` +
    `<Condition>${condition}</Condition><Key>${key.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`)}</Key>` +
    `<RequestId>${requestId}</RequestId></Error>`;
  res.writeHead(412, { "content-type": "application/xml", "content-length": Buffer.byteLength(body), "x-amz-request-id": requestId });
  res.end(body);
}

/** Path-style only (the sandbox's clients use forcePathStyle): "/bucket/key…". */
function objectPath(url: URL): { bucket: string; key: string } | undefined {
  const match = /^\/([^/]+)\/(.+)$/.exec(url.pathname);
  return match ? { bucket: match[1]!, key: decodeURIComponent(match[2]!) } : undefined;
}

export async function startConditionalS3(upstreamUrl: string, signing: { credentials: { accessKeyId: string; secretAccessKey: string }; region: string }): Promise<RunningServer> {
  const upstream = new URL(upstreamUrl);
  // One conditional write per key at a time: the existence check and the write are one step, as on S3.
  const locks = new Map<string, Promise<void>>();
  const withKeyLock = async (key: string, work: () => Promise<void>) => {
    const previous = locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const chain = previous.then(() => mine);
    locks.set(key, chain);
    await previous;
    try {
      await work();
    } finally {
      release();
      if (locks.get(key) === chain) locks.delete(key);
    }
  };

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, headers: http.IncomingHttpHeaders = req.headers) =>
    new Promise<void>((resolve) => {
      const out = http.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on("end", resolve);
          answer.on("error", () => resolve());
        },
      );
      out.on("error", (error) => {
        if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
        res.end(`sandbox S3 proxy: ${error.message}`);
        resolve();
      });
      req.pipe(out);
    });

  /** The object's ETag, or null when there is none. */
  const head = async (bucket: string, key: string): Promise<string | null> => {
    const url = `${upstream.origin}/${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
    // fauxqs checks signatures like S3: the front's own look-up is signed with the sandbox's key.
    const response = await signedFetch(url, { method: "HEAD" }, { ...signing, service: "s3" });
    return response.ok ? (response.headers.get("etag") ?? "") : null;
  };
  const sameEtag = (a: string, b: string) => a.replace(/"/g, "").trim() === b.replace(/"/g, "").trim();

  const lifecycles = new Map<string, string>();
  const lifecycle = async (req: http.IncomingMessage, res: http.ServerResponse, bucket: string) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method === "PUT") {
      const body = Buffer.concat(chunks).toString("utf8");
      if (!/<LifecycleConfiguration[\s>]/.test(body) || !body.includes("<Rule>")) return s3Error(res, 400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema");
      lifecycles.set(bucket, body);
      res.writeHead(200, { "content-length": 0 });
      return void res.end();
    }
    if (req.method === "DELETE") {
      lifecycles.delete(bucket);
      res.writeHead(204);
      return void res.end();
    }
    const stored = lifecycles.get(bucket);
    if (!stored) return s3Error(res, 404, "NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist", `<BucketName>${bucket}</BucketName>`);
    res.writeHead(200, { "content-type": "application/xml", "content-length": Buffer.byteLength(stored) });
    res.end(stored);
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://s3");
    const bucketOnly = /^\/([^/]+)\/?$/.exec(url.pathname);
    if (bucketOnly && url.searchParams.has("lifecycle")) return void lifecycle(req, res, bucketOnly[1]!);
    const target = objectPath(url);
    const conditional = String(req.headers["if-none-match"] ?? "").trim() === "*";
    const ifMatch = typeof req.headers["if-match"] === "string" ? req.headers["if-match"] : null;
    const isPut = req.method === "PUT" && !url.searchParams.has("partNumber") && !url.searchParams.has("uploadId") && !req.headers["x-amz-copy-source"];
    const isComplete = req.method === "POST" && url.searchParams.has("uploadId");
    const isDelete = req.method === "DELETE" && !url.searchParams.has("uploadId");
    const guarded = target && ((conditional && (isPut || isComplete)) || (ifMatch !== null && (isPut || isDelete)));
    if (!target || !guarded) return void forward(req, res);
    // The headers stay: they are part of the request's signature, which fauxqs checks (and otherwise ignores them).
    void withKeyLock(`${target.bucket}/${target.key}`, async () => {
      const etag = await head(target.bucket, target.key);
      if (conditional && etag !== null) {
        req.resume();
        preconditionFailed(res, target.key);
        return;
      }
      if (ifMatch !== null && etag === null) {
        req.resume();
        s3Error(res, 404, "NoSuchKey", "The specified key does not exist.", `<Key>${target.key.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`)}</Key>`);
        return;
      }
      if (ifMatch !== null && etag !== null && !sameEtag(ifMatch, etag)) {
        req.resume();
        preconditionFailed(res, target.key, "If-Match");
        return;
      }
      await forward(req, res);
    });
  });
  return listenLoopback(server);
}
