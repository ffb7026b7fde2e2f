/** Bundle keys follow the runbooks: `<prefix><namePrefix><label>_<unix stamp>.tar.gz`, e.g. deployments/acp_audit_1763900000.tar.gz. */

export const MULTI_LABEL = "multi";

/** The label of a bundle: the one service it carries, or "multi" for several. */
export function bundleLabel(services: readonly string[]): string {
  if (services.length === 0) throw new Error("a bundle needs at least one service");
  return services.length === 1 ? services[0] : MULTI_LABEL;
}

export function bundleKey(keyPrefix: string, namePrefix: string, label: string, unixStamp: number): string {
  return `${keyPrefix}${namePrefix}${label}_${unixStamp}.tar.gz`;
}

export interface ParsedBundleKey {
  label: string;
  /** Seconds since the epoch, from the key. */
  stamp: number;
}

/** Reads label and stamp back from a key; null when the key does not follow the naming. */
export function parseBundleKey(key: string, namePrefix: string): ParsedBundleKey | null {
  const base = key.slice(key.lastIndexOf("/") + 1);
  if (!base.startsWith(namePrefix)) return null;
  const match = /^([A-Za-z0-9-]+(?:_[A-Za-z0-9-]+)*)_(\d{9,11})\.tar\.gz$/.exec(base.slice(namePrefix.length));
  if (!match) return null;
  return { label: match[1], stamp: Number(match[2]) };
}
