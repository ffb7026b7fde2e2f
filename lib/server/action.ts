import "server-only";
import type { z } from "zod";
import { describeAwsError } from "../aws/errors";
import { HTTP_STATUS, InvalidInputError, UserFacingError, type ProblemKind } from "../errors";
import { ACTION_TOKEN_FIELD, TOKEN_REFUSAL, tokenMatches } from "../panel/guard";

export type ActionError = { ok: false; kind: ProblemKind; error: string; fieldErrors?: Record<string, string> };
export type ActionResult<T> = { ok: true; data: T } | ActionError;

/** The typed, user-facing form of any failure: our own errors as written, AWS errors in plain words. */
export function toProblem(error: unknown, context = ""): ActionError {
  if (error instanceof InvalidInputError) return { ok: false, kind: error.kind, error: error.message, fieldErrors: error.fieldErrors };
  if (error instanceof UserFacingError) return { ok: false, kind: error.kind, error: error.message };
  return { ok: false, kind: "upstream", error: describeAwsError(error, context) };
}

export function userFacingMessage(error: unknown, context = ""): string {
  return toProblem(error, context).error;
}

/**
 * The one wrapper every server action goes through: checks the per-launch panel token the page
 * sent with the input (components/panel-token.ts), validates input with zod, runs the handler,
 * and turns any failure into a typed, user-facing error with field errors next to their fields.
 */
export async function runAction<S extends z.ZodType, T>(schema: S, input: unknown, handler: (input: z.infer<S>) => Promise<T>): Promise<ActionResult<T>> {
  const token = input !== null && typeof input === "object" && Object.hasOwn(input, ACTION_TOKEN_FIELD) ? (input as Record<string, unknown>)[ACTION_TOKEN_FIELD] : undefined;
  if (!tokenMatches(token)) {
    console.error("[deckhand] refused a server action without the panel token");
    return { ok: false, kind: "refused", error: TOKEN_REFUSAL };
  }
  const { [ACTION_TOKEN_FIELD]: _token, ...rest } = input as Record<string, unknown>;
  const parsed = schema.safeParse(rest);
  if (!parsed.success) {
    const fieldErrors = Object.fromEntries(parsed.error.issues.map((issue) => [issue.path.join(".") || "input", issue.message]));
    return { ok: false, kind: "invalid", error: Object.entries(fieldErrors).map(([field, message]) => `${field}: ${message}`).join("; "), fieldErrors };
  }
  try {
    return { ok: true, data: await handler(parsed.data) };
  } catch (error) {
    const problem = toProblem(error);
    console.error(`[deckhand] action failed: ${problem.error}`);
    return problem;
  }
}

/** Route handlers answer typed JSON errors ({ error, kind }) with a status that fits the problem. */
export async function jsonRoute(handler: () => Promise<unknown>, context = ""): Promise<Response> {
  try {
    return Response.json(await handler());
  } catch (error) {
    const problem = toProblem(error, context);
    if (problem.kind === "upstream" && !(error as { $metadata?: unknown })?.$metadata) console.error(`[deckhand] ${context || "request"} failed:`, error);
    return Response.json({ error: problem.error, kind: problem.kind, ...(problem.fieldErrors ? { fieldErrors: problem.fieldErrors } : {}) }, { status: HTTP_STATUS[problem.kind] });
  }
}
