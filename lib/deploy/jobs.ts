/**
 * Deploy jobs run in the server process, not in the browser. The registry lives on globalThis
 * because Next bundles route handlers and server actions separately: a module-level Map could
 * exist twice, and the same deploy would then be watched twice.
 */
const registry: Map<string, Promise<void>> = ((globalThis as { __deckhandJobs?: Map<string, Promise<void>> }).__deckhandJobs ??= new Map());

/**
 * Runs `job` for a deploy after any job already running for it (one still reading late output, say):
 * one job per deploy at a time, and none dropped. Returns the new job's promise.
 */
export function runJob(deployId: string, job: () => Promise<void>): Promise<void> {
  const before = registry.get(deployId) ?? Promise.resolve();
  const promise: Promise<void> = before.catch(() => undefined).then(job).finally(() => {
    if (registry.get(deployId) === promise) registry.delete(deployId);
  });
  registry.set(deployId, promise);
  return promise;
}

const locks: Map<string, Promise<unknown>> = ((globalThis as { __deckhandLocks?: Map<string, Promise<unknown>> }).__deckhandLocks ??= new Map());

/**
 * Runs `critical` alone for a name (an environment): the "is another deploy active?" check and the
 * insert of the new deploy must not interleave when two requests arrive together.
 */
export async function withLock<T>(name: string, critical: () => Promise<T>): Promise<T> {
  const previous = locks.get(name) ?? Promise.resolve();
  const current = previous.catch(() => undefined).then(critical);
  locks.set(name, current);
  try {
    return await current;
  } finally {
    if (locks.get(name) === current) locks.delete(name);
  }
}

/** Resolves when the deploy's current job (if any) ends; for tests and graceful shutdown. */
export async function jobSettled(deployId: string): Promise<void> {
  await registry.get(deployId)?.catch(() => undefined);
}
