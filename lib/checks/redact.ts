// Secrets (the probe password, tokens taken from answers) are replaced before any text leaves lib/checks.

export const REDACTED = "[redacted]";

export class Redactor {
  private secrets = new Set<string>();

  /** Adds a secret and the forms it takes inside JSON, URLs and form bodies. Very short values are refused as too common to mask. */
  add(secret: string): void {
    if (secret.length < 4) return;
    for (const form of [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)]) this.secrets.add(form);
  }

  /** Whether a secret could not be masked because it is too short to find safely. */
  static tooShort(secret: string): boolean {
    return secret.length < 4;
  }

  redact(text: string): string {
    let out = text;
    // Longest first, so a secret containing another is masked whole.
    for (const secret of [...this.secrets].sort((a, b) => b.length - a.length)) out = out.split(secret).join(REDACTED);
    return out;
  }
}
