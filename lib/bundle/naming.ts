/**
 * Bundle keys follow the runbooks: `<prefix><namePrefix><label>_<unix stamp>.tar.gz`, e.g.
 * deployments/acp_audit_1763900000.tar.gz; with a version label (seeds/002's MAJOR.MINOR.PATCH-suffix)
 * it goes before the stamp: deployments/acp_audit_1.2.3-dev_1763900000.tar.gz.
 */

/** seeds/002's version format: MAJOR.MINOR.PATCH with an optional -suffix. */
export const VERSION_LABEL = /^(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})(-[A-Za-z0-9][A-Za-z0-9.]{0,30})?$/;

export function isVersionLabel(value: string): boolean {
  return VERSION_LABEL.test(value);
}

export const MULTI_LABEL = "multi";

/** The label of a bundle: the one service it carries, or "multi" for several. */
export function bundleLabel(services: readonly string[]): string {
  if (services.length === 0) throw new Error("a bundle needs at least one service");
  return services.length === 1 ? services[0] : MULTI_LABEL;
}

export function bundleKey(keyPrefix: string, namePrefix: string, label: string, unixStamp: number, version?: string | null): string {
  if (version && !isVersionLabel(version)) throw new Error(`not a version label (MAJOR.MINOR.PATCH-suffix): ${JSON.stringify(version)}`);
  return `${keyPrefix}${namePrefix}${label}${version ? `_${version}` : ""}_${unixStamp}.tar.gz`;
}

export interface ParsedBundleKey {
  label: string;
  /** Seconds since the epoch, from the key. */
  stamp: number;
  /** The version label, when the key carries one. */
  version?: string;
}

/** Reads label and stamp back from a key; null when the key does not follow the naming. */
export function parseBundleKey(key: string, namePrefix: string): ParsedBundleKey | null {
  const base = key.slice(key.lastIndexOf("/") + 1);
  if (!base.startsWith(namePrefix)) return null;
  const match = /^([A-Za-z0-9-]+(?:_[A-Za-z0-9-]+)*?)(?:_([0-9]+\.[0-9]+\.[0-9]+(?:-[A-Za-z0-9.]+)?))?_(\d{9,11})\.tar\.gz$/.exec(base.slice(namePrefix.length));
  if (!match) return null;
  if (match[2] !== undefined && !isVersionLabel(match[2])) return null;
  return match[2] ? { label: match[1]!, stamp: Number(match[3]), version: match[2] } : { label: match[1]!, stamp: Number(match[3]) };
}

/** The version label in any bundle key (acp_audit_1.2.3_<stamp>, deploy-bundle-0.1.30-dev), whatever its name prefix. */
export function versionFromKey(key: string): string | null {
  const base = key.slice(key.lastIndexOf("/") + 1);
  const match = /_([0-9]+\.[0-9]+\.[0-9]+(?:-[A-Za-z0-9.]+)?)_\d{9,11}\.tar\.gz$/.exec(base) ?? /^deploy-bundle-([0-9]+\.[0-9]+\.[0-9]+(?:-[A-Za-z0-9.]+)?)\.tar\.gz$/.exec(base);
  return match && isVersionLabel(match[1]!) ? match[1]! : null;
}
