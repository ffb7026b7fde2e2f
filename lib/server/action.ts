import "server-only";
import type { z } from "zod";
import { describeAwsError } from "../aws/errors";
import { ACTION_TOKEN_FIELD, TOKEN_REFUSAL, tokenMatches } from "../panel/guard";

export type ActionResult<T> = { ok: true; data: T } | { ok: false; error: string; fieldErrors?: Record<string, string> };

const USER_FACING = new Set(["UserError", "ConfigError", "PlanError", "DeployError", "BundleError", "UnsafeValueError"]);

/** The message an operator sees for a failure: our own errors as written, AWS errors in plain words. */
export function userFacingMessage(error: unknown, context = ""): string {
  const name = (error as Error)?.name ?? "";
  return USER_FACING.has(name) ? (error as Error).message : describeAwsError(error, context);
}

/**
 * The one wrapper every server action goes through: checks the per-launch panel token the page
 * sent with the input (components/panel-token.ts), validates input with zod, runs the handler,
 * and turns any failure into a typed, user-facing error (AWS errors in plain words).
 */
export async function runAction<S extends z.ZodType, T>(schema: S, input: unknown, handler: (input: z.infer<S>) => Promise<T>): Promise<ActionResult<T>> {
  const token = input !== null && typeof input === "object" && Object.hasOwn(input, ACTION_TOKEN_FIELD) ? (input as Record<string, unknown>)[ACTION_TOKEN_FIELD] : undefined;
  if (!tokenMatches(token)) {
    console.error("[deckhand] refused a server action without the panel token");
    return { ok: false, error: TOKEN_REFUSAL };
  }
  const { [ACTION_TOKEN_FIELD]: _token, ...rest } = input as Record<string, unknown>;
  const parsed = schema.safeParse(rest);
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
