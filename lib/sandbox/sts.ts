// STS stand-in over the real Query protocol (form-encoded POST, XML answer): GetCallerIdentity only,
// which is what a setup check asks first ("who am I, in which account?").
import { randomUUID } from "node:crypto";
import http from "node:http";
import { authorizeQuery, type SandboxCredentials } from "./auth";
import { listenLoopback, type RunningServer } from "./awsJson";

const NS = "https://sts.amazonaws.com/doc/2011-06-15/";

export interface StsIdentity {
  account: string;
  arn: string;
  userId: string;
}

function xml(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "text/xml", "content-length": Buffer.byteLength(body), "x-amzn-requestid": randomUUID() });
  res.end(body);
}

function error(res: http.ServerResponse, status: number, code: string, message: string): void {
  xml(
    res,
    status,
    `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message.replace(/[<>&]/g, "")}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  );
}

export function startSts(identity: StsIdentity, credentials: SandboxCredentials): Promise<RunningServer> {
  return listenLoopback(
    http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      // Like every AWS endpoint: unsigned, wrongly signed or foreign-key requests are refused.
      const denied = await authorizeQuery(req, Buffer.concat(chunks), credentials);
      if (denied) return error(res, denied.status, denied.code, denied.message);
      if (req.method !== "POST") return error(res, 400, "InvalidAction", "STS answers POST / only");
      if (!String(req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
        return error(res, 400, "MissingAction", "The request must be form-encoded (Query protocol)");
      }
      const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
      if (form.get("Version") !== "2011-06-15") return error(res, 400, "InvalidParameterValue", `Unsupported Version ${form.get("Version") ?? "(none)"}`);
      const action = form.get("Action");
      if (action !== "GetCallerIdentity") return error(res, 400, "InvalidAction", `Could not find operation ${action ?? "(none)"} for version 2011-06-15 (the sandbox answers GetCallerIdentity)`);
      xml(
        res,
        200,
        `<GetCallerIdentityResponse xmlns="${NS}"><GetCallerIdentityResult><Arn>${identity.arn}</Arn><UserId>${identity.userId}</UserId><Account>${identity.account}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
      );
    }),
  );
}
