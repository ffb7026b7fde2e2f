import "server-only";

// app/'s door into the deploy domain (the state itself is plain TypeScript in lib/deploy/app-state).
export { getDeckhand, requireContext } from "../deploy/app-state";
