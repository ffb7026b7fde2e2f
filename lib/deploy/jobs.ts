/**
 * Deploy jobs run in the server process, not in the browser. The registry lives on globalThis
 * because Next bundles route handlers and server actions separately: a module-level Map could
 * exist twice, and the same deploy would then be watched twice.
 */
const registry: Map<string, Promise<void>> = ((globalThis as { __deckhandJobs?: Map<string, Promise<void>> }).__deckhandJobs ??= new Map());

/** Runs `job` for a deploy unless one is already running for it; returns the running promise. */
export function runJob(deployId: string, job: () => Promise<void>): Promise<void> {
  const running = registry.get(deployId);
  if (running) return running;
  const promise = job().finally(() => registry.delete(deployId));
  registry.set(deployId, promise);
  return promise;
}

/** Resolves when the deploy's current job (if any) ends; for tests and graceful shutdown. */
export async function jobSettled(deployId: string): Promise<void> {
  await registry.get(deployId)?.catch(() => undefined);
}
