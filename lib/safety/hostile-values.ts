// Hostile inputs for the hostile suite: every one must be refused with a clear message or handled
// inertly wherever Deckhand takes input (config fields, server-action inputs, API query parameters).

/** A path that must never exist after the suite: any value that reaches a shell unquoted creates it. */
export function canaryPayloads(canary: string): string[] {
  return [
    `; touch ${canary}`,
    `$(touch ${canary})`,
    `\`touch ${canary}\``,
    `' ; touch ${canary} ; '`,
    `" ; touch ${canary} ; "`,
    `x\ntouch ${canary}`,
    `x\r\ntouch ${canary}`,
    `| touch ${canary}`,
    `&& touch ${canary}`,
    `> ${canary}`,
    `$(IFS=_;cmd=touch_${canary};$cmd)`,
    `'"$(touch ${canary})"'`,
    `\\'; touch ${canary}; #`,
  ];
}

export const HOSTILE_VALUES: string[] = [
  ...canaryPayloads("/tmp/deckhand-hostile-canary"),
  "'",
  '"',
  "a'b",
  "a\"b",
  "\0",
  "a\0b",
  "x\ny",
  "\t",
  " ",
  "",
  "../",
  "../../etc/passwd",
  "ui/../../etc",
  "/etc/passwd",
  "/",
  "~root/.ssh",
  "%2e%2e%2f",
  "-rf",
  "--help",
  "$HOME",
  "${IFS}",
  "i-0123456789abcdef\u0430", // Cyrillic a: looks like an instance id
  "\u0455ervices/audit", // Cyrillic s
  "ＡＢＣ", // fullwidth
  "a\u202eb", // right-to-left override
  "caf\u00e9",
  "a".repeat(10_000),
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
];

/** A value is inert in a script when, placed single-quoted, it cannot end the quote or carry a control byte. */
export const INERT_TOKEN = /^[A-Za-z0-9_.\/:@+=,-]*$/;
