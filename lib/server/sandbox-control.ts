import "server-only";
import { RefusedError as UserError } from "../errors";
import { isFaultName, FAULT_NAMES, type FaultName } from "@/lib/sandbox/faults";

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
  const response = await fetch(`${controlUrl()}/faults/${encodeURIComponent(instanceId)}`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ fault, on }),
  });
  if (!response.ok) throw new UserError(`The sandbox refused: ${await response.text()}`);
  return response.json();
}
