// Runs once when the Next server starts: migrate the history and resume deploys left in flight.
export async function register() {
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { getDeckhand } = await import("./lib/deploy/app-state");
    await getDeckhand();
  }
}
