// ELBv2 DescribeTargetHealth over the real AWS Query protocol (form-encoded POST in, XML out),
// answered from the sandbox ALB's own health-check state, so @aws-sdk/client-elastic-load-balancing-v2
// reads it unchanged (endpoint: AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2).
import { randomUUID } from "node:crypto";
import http from "node:http";
import { authorizeQuery, type SandboxCredentials } from "./auth";
import { listenLoopback, type RunningServer } from "./awsJson";
import type { Alb } from "./alb";

const NS = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";
const MAX_BODY = 64 * 1024;

export interface TargetHealthView {
  instanceId: string;
  port: number;
  state: "initial" | "healthy" | "unhealthy" | "draining" | "unused";
  reason?: string;
  description?: string;
}

class QueryError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const xmlEscape = (value: string) => value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function errorXml(code: string, message: string, requestId: string): string {
  return `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
}

function describeXml(targets: TargetHealthView[], requestId: string): string {
  const members = targets
    .map((t) => {
      const health = [`<State>${t.state}</State>`, t.reason ? `<Reason>${xmlEscape(t.reason)}</Reason>` : "", t.description ? `<Description>${xmlEscape(t.description)}</Description>` : ""].join("");
      return `<member><Target><Id>${xmlEscape(t.instanceId)}</Id><Port>${t.port}</Port></Target><HealthCheckPort>${t.port}</HealthCheckPort><TargetHealth>${health}</TargetHealth></member>`;
    })
    .join("");
  return `<DescribeTargetHealthResponse xmlns="${NS}"><DescribeTargetHealthResult><TargetHealthDescriptions>${members}</TargetHealthDescriptions></DescribeTargetHealthResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></DescribeTargetHealthResponse>`;
}

/** AWS's state and reason for one sandbox ALB target. */
export function targetHealthOf(alb: Alb, port: number): TargetHealthView[] {
  return alb.view().map((t) => {
    if (t.draining) return { instanceId: t.instanceId, port, state: "draining", reason: "Target.DeregistrationInProgress", description: "Target deregistration is in progress" };
    if (t.healthy) return { instanceId: t.instanceId, port, state: "healthy" };
    const http = /^HTTP (\d{3})$/.exec(t.lastError ?? "");
    if (http) return { instanceId: t.instanceId, port, state: "unhealthy", reason: "Target.ResponseCodeMismatch", description: `Health checks failed with these codes: [${http[1]}]` };
    if (/timeout|aborted/i.test(t.lastError ?? "")) return { instanceId: t.instanceId, port, state: "unhealthy", reason: "Target.Timeout", description: "Request timed out" };
    return { instanceId: t.instanceId, port, state: "unhealthy", reason: "Target.FailedHealthChecks", description: "Health checks failed" };
  });
}

export function startElbService(options: { alb: Alb; targetGroupArn: string; credentials: SandboxCredentials; port?: number }): Promise<RunningServer> {
  const server = http.createServer(async (req, res) => {
    const requestId = randomUUID();
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY) break;
      chunks.push(chunk as Buffer);
    }
    let status = 200;
    let body: string;
    try {
      if (size > MAX_BODY) throw new QueryError("ValidationError", "Request body too large", 413);
      const denied = await authorizeQuery(req, Buffer.concat(chunks), options.credentials);
      if (denied) throw new QueryError(denied.code, denied.message, denied.status);
      if (req.method !== "POST") throw new QueryError("InvalidAction", "Only POST / is served");
      const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
      const action = form.get("Action");
      if (form.get("Version") !== "2015-12-01") throw new QueryError("InvalidParameterValue", "Version must be 2015-12-01");
      if (action !== "DescribeTargetHealth") throw new QueryError("InvalidAction", `The action ${action ?? "(none)"} is not valid for this web service.`);
      const arn = form.get("TargetGroupArn");
      if (!arn) throw new QueryError("ValidationError", "1 validation error detected: Value null at 'targetGroupArn' failed to satisfy constraint: Member must not be null");
      if (arn !== options.targetGroupArn) throw new QueryError("TargetGroupNotFound", `Target groups '${arn}' not found`);
      const all = targetHealthOf(options.alb, options.port ?? 80);
      const wanted = [...form.keys()].filter((k) => /^Targets\.member\.\d+\.Id$/.test(k)).map((k) => form.get(k)!);
      const unknown = wanted.find((id) => !all.some((t) => t.instanceId === id));
      if (unknown) throw new QueryError("InvalidTarget", `The following targets are not in a running state and cannot be registered: '${unknown}'`);
      body = describeXml(wanted.length ? all.filter((t) => wanted.includes(t.instanceId)) : all, requestId);
    } catch (error) {
      const e = error instanceof QueryError ? error : new QueryError("InternalFailure", String(error), 500);
      status = e.status;
      body = errorXml(e.code, e.message, requestId);
    }
    res.writeHead(status, { "content-type": "text/xml", "content-length": Buffer.byteLength(body), "x-amzn-requestid": requestId });
    res.end(body);
  });
  return listenLoopback(server);
}
