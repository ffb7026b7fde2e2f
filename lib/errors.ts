/**
 * Deckhand's own errors: each class carries a message written for the operator, and the kind of
 * problem decides the HTTP status a route answers with. Everything that is not one of these (AWS,
 * network, a bug) goes through describeAwsError instead — matched with instanceof, never by name.
 */
export type ProblemKind = "invalid" | "not_found" | "refused" | "conflict" | "not_configured" | "upstream" | "internal";

export class UserFacingError extends Error {
  readonly kind: ProblemKind = "refused";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The request itself is malformed (a field, an id); fieldErrors name the fields. */
export class InvalidInputError extends UserFacingError {
  override readonly kind = "invalid";
  constructor(message: string, readonly fieldErrors: Record<string, string> = {}) {
    super(message);
  }
}

export class NotFoundError extends UserFacingError {
  override readonly kind = "not_found";
}

/** A rule of the deploy said no (already live, bundle expired, wrong status, …). */
export class RefusedError extends UserFacingError {
  override readonly kind = "refused";
}

/** Another deploy holds the environment, or the state moved under the request (compare-and-set lost). */
export class ConflictError extends UserFacingError {
  override readonly kind = "conflict";
}

/** What the operator confirmed (script, bundle) is no longer what would run. */
export class PlanChangedError extends ConflictError {}

/** Deckhand has no usable config (no file, or a file with mistakes). */
export class NotConfiguredError extends UserFacingError {
  override readonly kind = "not_configured";
}

export const HTTP_STATUS: Record<ProblemKind, number> = {
  invalid: 400,
  not_found: 404,
  refused: 422,
  conflict: 409,
  not_configured: 503,
  upstream: 502,
  internal: 500,
};
