// The sandbox hosts share this machine's /: a host's own "system" paths (/opt/atta, /etc/systemd/system)
// live under DECKHAND_SANDBOX_SYSTEM_ROOT (the mount point each host sees as its own filesystem),
// as if the host were chrooted there. Paths already under it are taken as they are.
import path from "node:path";

export function systemRoot() {
  const root = process.env.DECKHAND_SANDBOX_SYSTEM_ROOT;
  if (!root) {
    process.stderr.write("the sandbox stand-in needs DECKHAND_SANDBOX_SYSTEM_ROOT\n");
    process.exit(1);
  }
  return root;
}

export function hostPath(p) {
  const root = systemRoot();
  if (!path.isAbsolute(p)) return p;
  return p === root || p.startsWith(root + "/") ? p : path.join(root, p);
}

export const ECR_REGISTRY = /^([0-9]{12})\.dkr\.ecr\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com$/;

/** What `aws ecr get-login-password` hands out: valid for one region's registries only, like a real token. */
export function ecrToken(region) {
  return Buffer.from(`AWS:deckhand-sandbox-ecr:${region}`).toString("base64");
}
