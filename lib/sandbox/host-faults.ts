// Fault behaviour that lives in the host's own state dir, so the stand-ins on the host can change it
// (kept out of hosts.ts so the SSM/host runner stays small).
import fs from "node:fs";
import path from "node:path";

/** The `dns` fault's mark: Docker's embedded DNS is poisoned until the gateway container is recreated. */
export function dnsMarker(stateDir: string): string {
  return path.join(stateDir, "dns-poisoned");
}

/** Switches the `dns` fault on or off in the host's state (the app containers read this mark). */
export function setDnsPoisoned(stateDir: string, on: boolean): void {
  if (on) fs.writeFileSync(dnsMarker(stateDir), new Date().toISOString());
  else fs.rmSync(dnsMarker(stateDir), { force: true });
}

/** Whether `dns` is still on: recreating the gateway (the seeds/000 fix) clears it on the host. */
export function dnsStillPoisoned(host: { faults: Set<string>; stateDir: string }): boolean {
  if (!host.faults.has("dns")) return false;
  if (fs.existsSync(dnsMarker(host.stateDir))) return true;
  host.faults.delete("dns");
  return false;
}

/**
 * `stale` and `fail-next` act on scripts that change the host (deploys, actions): a read-only script (the
 * host-truth read) still runs and does not use up an injected failure.
 */
export function changesHost(script: string): boolean {
  return /\b(docker compose (build|up|restart|stop|down)|tar x|rm -rf)\b/.test(script);
}
