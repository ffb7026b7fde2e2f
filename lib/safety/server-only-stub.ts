// vitest stand-in for the "server-only" marker package (which throws outside Next's server bundles),
// so plain tests can import lib/server modules such as action.ts.
export {};
