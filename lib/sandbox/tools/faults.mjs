// Shared by the stand-ins: the "slow" and "hang" faults act on each stand-in step.
export async function applyStepFaults() {
  if (process.env.DECKHAND_SANDBOX_HANG === "1") {
    // Hang until the SSM executionTimeout kills the whole process group.
    await new Promise(() => setInterval(() => {}, 1 << 30));
  }
  const slowMs = Number(process.env.DECKHAND_SANDBOX_SLOW_MS ?? 0);
  if (slowMs > 0) await new Promise((resolve) => setTimeout(resolve, slowMs));
}
