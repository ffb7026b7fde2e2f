import type { SSMClient } from "@aws-sdk/client-ssm";
import { describePing, type HostPing } from "./ssm";

/** How long one DescribeInstanceInformation answer serves every page that asks (SSM's quota is shared with deploys). */
export const PING_CACHE_MS = 10_000;

type Entry = { at: number; answer: Promise<Map<string, HostPing>> };
const cache: Map<string, Entry> = ((globalThis as { __deckhandPing?: Map<string, Entry> }).__deckhandPing ??= new Map());

/**
 * The dashboard's view of which hosts SSM sees online: one call per environment per interval,
 * whoever asks; callers arriving while a call is out share it. A failure is not cached.
 */
export function cachedPing(ssm: SSMClient, cacheKey: string, instanceIds: string[], now = Date.now(), maxAgeMs = PING_CACHE_MS): Promise<Map<string, HostPing>> {
  const key = `${cacheKey}|${[...instanceIds].sort().join(",")}`;
  const hit = cache.get(key);
  if (hit && now - hit.at < maxAgeMs) return hit.answer;
  const answer = describePing(ssm, instanceIds);
  const entry = { at: now, answer };
  cache.set(key, entry);
  answer.catch(() => {
    if (cache.get(key) === entry) cache.delete(key);
  });
  return answer;
}
