/** Quoting and validation for values placed in a host script. */
import { InvalidInputError } from "../errors";

export class UnsafeValueError extends InvalidInputError {}

/** Single-quotes a value for bash: the only character needing care inside '' is ' itself. */
export function shellQuote(value: string): string {
  if (value.includes("\0")) throw new UnsafeValueError("a NUL byte cannot be placed in a shell script");
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

const patterns = {
  absolutePath: /^\/[A-Za-z0-9_.\/-]*$/,
  relativePath: /^[A-Za-z0-9_][A-Za-z0-9_.\/-]*$/,
  bucket: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
  s3Key: /^[A-Za-z0-9_.\/-]{1,1024}$/,
  region: /^[a-z]{2}(-[a-z]+)+-\d$/,
  sha256: /^[0-9a-f]{64}$/,
  owner: /^[a-z_][a-z0-9_-]*(:[a-z_][a-z0-9_-]*)?$/,
  composeService: /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/,
  label: /^[A-Za-z0-9_.-]{1,64}$/,
} as const;

export type ValueKind = keyof typeof patterns;

/** Refuses a value that does not match its strict pattern (defence in depth: config validated it already). */
export function checked(kind: ValueKind, value: string): string {
  const ok = patterns[kind].test(value) && !value.split("/").includes("..");
  if (!ok) throw new UnsafeValueError(`refusing ${kind} ${JSON.stringify(value)}: it does not match ${patterns[kind]}`);
  return value;
}

/** Validates then quotes. */
export function q(kind: ValueKind, value: string): string {
  return shellQuote(checked(kind, value));
}
