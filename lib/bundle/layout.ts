// How a bundle's members map onto the repo. The runbooks make three kinds by hand (seeds/000, seeds/002):
//   repo    — members are repo-relative (`tar czf acp_audit_….tar.gz services/audit/`, acp_multi_…, Deckhand's own)
//   static  — members are relative to a static service's directory (`tar czf acp_ui_….tar.gz -C dist .` → ui/dist)
//   systemd — seeds/002's `deploy-bundle-<version>.tar.gz`: VERSION and deploy/ at the root, listed by version
import type { ManifestFile } from "./manifest";
import { parseBundleKey } from "./naming";

/** What a deploy may be told a bundle's layout is, for a key that fits no known layout. */
export const DEPLOYABLE_LAYOUTS = ["repo", "static"] as const;
export type DeployLayout = (typeof DEPLOYABLE_LAYOUTS)[number];
export type KeyLayout = DeployLayout | "systemd" | "unknown";

export function isDeployLayout(value: unknown): value is DeployLayout {
  return typeof value === "string" && (DEPLOYABLE_LAYOUTS as readonly string[]).includes(value);
}

export interface KeyInfo {
  layout: KeyLayout;
  label: string | null;
  stamp: number;
  /** MAJOR.MINOR.PATCH[-suffix] from the key, when it carries one. */
  version: string | null;
}

const SYSTEMD_BUNDLE = /^deploy-bundle-([0-9]+\.[0-9]+\.[0-9]+(?:-[A-Za-z0-9.]+)?)\.tar\.gz$/;

/**
 * What a key says about its bundle. `staticServices` are the configured services deployed as a directory
 * of static files (their label in a key made by hand means seeds/000's `tar -C dist .`).
 */
export function layoutFromKey(key: string, namePrefix: string, staticServices: readonly string[] = []): KeyInfo {
  const base = key.slice(key.lastIndexOf("/") + 1);
  const parsed = parseBundleKey(key, namePrefix);
  if (parsed) {
    return { layout: staticServices.includes(parsed.label) ? "static" : "repo", label: parsed.label, stamp: parsed.stamp, version: parsed.version ?? null };
  }
  const systemd = SYSTEMD_BUNDLE.exec(base);
  if (systemd) return { layout: "systemd", label: null, stamp: 0, version: systemd[1]! };
  return { layout: "unknown", label: null, stamp: 0, version: null };
}

/** A member name a host may extract: relative, no `..`, no NUL or control characters. */
export function isSafeMember(name: string): boolean {
  return name.length > 0 && !name.startsWith("/") && !name.split("/").includes("..") && !/[\0-\x1f]/.test(name);
}

/** Whether the members sit at repo-relative paths under any of these (what a `repo` bundle must show). */
export function carriesAnyOf(files: readonly ManifestFile[], paths: readonly string[]): boolean {
  return files.some((f) => paths.some((p) => f.path === p || f.path.startsWith(p + "/")));
}

/** A `static` bundle's members seen from the repo: `index.html` in a bundle for ui/dist is ui/dist/index.html. */
export function underDirectory(files: readonly ManifestFile[], dir: string): ManifestFile[] {
  return files
    .map((f) => ({ ...f, path: f.path.replace(/^(\.\/)+/, "") }))
    .filter((f) => f.path !== "" && f.path !== ".")
    .map((f) => ({ ...f, path: `${dir}/${f.path}` }));
}
