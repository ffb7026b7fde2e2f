import "server-only";
import { RefusedError as UserError } from "../errors";
import { isFaultName, FAULT_NAMES, type FaultName } from "@/lib/sandbox/faults";
// Plain ESM shared with the sandbox's host tools: the sandbox refuses unsigned changes.
import { envCredentials, signedFetch } from "../sandbox/tools/sigv4.mjs";

/** The sandbox's fault-injection API, present only when Deckhand runs against the sandbox. */
function controlUrl(): string {
  const url = process.env.DECKHAND_SANDBOX_CONTROL_URL;
  if (!url) throw new UserError("Not running against the sandbox: there are no faults to inject.");
  const { hostname } = new URL(url);
  if (hostname !== "127.0.0.1" && hostname !== "localhost") throw new UserError("The sandbox control URL must be on this machine.");
  return url.replace(/\/$/, "");
}

export async function sandboxState(): Promise<unknown> {
  const response = await fetch(`${controlUrl()}/state`, { cache: "no-store" });
  if (!response.ok) throw new UserError(`The sandbox answered ${response.status}: ${await response.text()}`);
  return response.json();
}

export async function setSandboxFault(instanceId: string, fault: FaultName, on: boolean): Promise<unknown> {
  if (!isFaultName(fault)) throw new UserError(`Unknown fault "${String(fault)}". Faults: ${FAULT_NAMES.join(", ")}`);
  const credentials = envCredentials();
  if (!credentials) throw new UserError("The sandbox's credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) are not in the panel's environment.");
  const response = await signedFetch(
    `${controlUrl()}/faults/${encodeURIComponent(instanceId)}`,
    { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ fault, on }) },
    { credentials, region: process.env.AWS_REGION ?? "us-east-1", service: "sandbox" },
  );
  if (!response.ok) throw new UserError(`The sandbox refused: ${await response.text()}`);
  return response.json();
}
