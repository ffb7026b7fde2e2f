/**
 * In-process wake-ups for the deploy page's event stream: the history writers (appendOutput,
 * changeStatus, updateHostRun, recordEvent) say "deploy X changed" and every open stream of X re-reads
 * SQLite at once. It carries no data: SQLite stays the only truth, so a missed wake-up costs only
 * latency (the stream's slow periodic re-check catches it), never a line.
 *
 * Kept on globalThis: Next loads this module once per bundle (route handlers, server actions,
 * instrumentation), and the writer and the stream must share one registry.
 */

type Listener = () => void;

interface FeedRegistry {
  /** deployId → the listeners of its open streams. */
  byDeploy: Map<string, Set<Listener>>;
}

const KEY = Symbol.for("deckhand.deployFeed");

function registry(): FeedRegistry {
  const holder = globalThis as { [KEY]?: FeedRegistry };
  return (holder[KEY] ??= { byDeploy: new Map() });
}

/** Calls `listener` whenever deploy `deployId` changes; returns the unsubscribe (idempotent). */
export function subscribeDeploy(deployId: string, listener: Listener): () => void {
  const { byDeploy } = registry();
  let set = byDeploy.get(deployId);
  if (!set) byDeploy.set(deployId, (set = new Set()));
  const own = () => listener(); // a fresh function: the same listener may subscribe twice
  set.add(own);
  return () => {
    const current = byDeploy.get(deployId);
    if (!current) return;
    current.delete(own);
    if (current.size === 0) byDeploy.delete(deployId);
  };
}

function wake(set: Set<Listener> | undefined) {
  if (!set) return;
  for (const listener of [...set]) {
    try {
      listener();
    } catch (error) {
      console.error("[deckhand] a deploy feed listener failed:", error);
    }
  }
}

/** A deploy's status, events or host runs changed. */
export function notifyDeploy(deployId: string): void {
  wake(registry().byDeploy.get(deployId));
}

/**
 * A host run changed or got output. Host run ids are `<deployId>-<attempt>-<instanceId>`
 * (createHostRuns); with no subscriber (the usual case) this costs one empty-map check.
 */
export function notifyHostRuns(hostRunIds: Iterable<string>): void {
  const { byDeploy } = registry();
  if (byDeploy.size === 0) return;
  const woken = new Set<string>();
  for (const runId of hostRunIds) {
    for (const deployId of byDeploy.keys()) {
      if (!woken.has(deployId) && runId.startsWith(`${deployId}-`)) woken.add(deployId);
    }
  }
  for (const deployId of woken) wake(byDeploy.get(deployId));
}

/** How many stream listeners are registered (all deploys, or one): tests check nothing leaks. */
export function feedListenerCount(deployId?: string): number {
  const { byDeploy } = registry();
  if (deployId !== undefined) return byDeploy.get(deployId)?.size ?? 0;
  let count = 0;
  for (const set of byDeploy.values()) count += set.size;
  return count;
}
