import "server-only";
import type { z } from "zod";
import { describeAwsError } from "../aws/errors";

export type ActionResult<T> = { ok: true; data: T } | { ok: false; error: string; fieldErrors?: Record<string, string> };

const USER_FACING = new Set(["UserError", "ConfigError", "PlanError", "DeployError", "BundleError", "UnsafeValueError"]);

/** The message an operator sees for a failure: our own errors as written, AWS errors in plain words. */
export function userFacingMessage(error: unknown, context = ""): string {
  const name = (error as Error)?.name ?? "";
  return USER_FACING.has(name) ? (error as Error).message : describeAwsError(error, context);
}

/**
 * The one wrapper every server action goes through: validates input with zod, runs the handler,
 * and turns any failure into a typed, user-facing error (AWS errors in plain words).
 */
export async function runAction<S extends z.ZodType, T>(schema: S, input: unknown, handler: (input: z.infer<S>) => Promise<T>): Promise<ActionResult<T>> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const fieldErrors = Object.fromEntries(parsed.error.issues.map((issue) => [issue.path.join(".") || "input", issue.message]));
    return { ok: false, error: Object.entries(fieldErrors).map(([field, message]) => `${field}: ${message}`).join("; "), fieldErrors };
  }
  try {
    return { ok: true, data: await handler(parsed.data) };
  } catch (error) {
    const message = userFacingMessage(error);
    console.error(`[deckhand] action failed: ${message}`);
    return { ok: false, error: message };
  }
}
