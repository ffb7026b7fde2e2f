import { checked, q, shellQuote, UnsafeValueError } from "./shell";

export interface ActionScriptInput {
  /** The action's name in the config (for the header and output). */
  name: string;
  repoPath: string;
  /** Repo-relative directory the command runs in (default: the repo). */
  dir?: string;
  /** The operator's own runbook line, run by bash. */
  command: string;
  /** Run as this user through `sudo -i -u <user> bash -lc …` (seeds/004); else as the SSM agent's user (root). */
  runAs?: string;
}

const ACTION_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const USER = /^[a-z_][a-z0-9_-]{0,31}$/;

/**
 * The script one SSM command runs for a runbook action. The command is the operator's own text: it is
 * passed as ONE single-quoted argument to bash, so nothing in it can change the script around it.
 */
export function actionScript(input: ActionScriptInput): string {
  if (!ACTION_NAME.test(input.name)) throw new UnsafeValueError(`refusing action name ${JSON.stringify(input.name)}`);
  if (input.runAs !== undefined && !USER.test(input.runAs)) throw new UnsafeValueError(`refusing runAs ${JSON.stringify(input.runAs)}: it does not match ${USER}`);
  if (!input.command || input.command.length > 4000 || /[\0\r]/.test(input.command)) throw new UnsafeValueError("refusing the command: empty, over 4000 characters, or with NUL / carriage return");
  const repo = checked("absolutePath", input.repoPath);
  const dir = input.dir ? `${repo.replace(/\/+$/, "")}/${checked("relativePath", input.dir)}` : repo;
  const lines = [
    "#!/bin/bash",
    `# Deckhand: runbook action ${shellQuote(input.name)}`,
    "set -euo pipefail",
    // SSM runs scripts without HOME (notes/real-aws.md); tools like docker want one.
    'export HOME="${HOME:-/root}"',
    `DIR=${q("absolutePath", dir)}`,
    `COMMAND=${shellQuote(input.command)}`,
    'cd "$DIR"',
  ];
  if (input.runAs) {
    // `sudo -i` starts in the user's home: change to the directory inside the user's login shell.
    lines.push(
      `echo "==> as "${shellQuote(input.runAs)}" in $DIR: $COMMAND"`,
      `sudo -i -u ${shellQuote(input.runAs)} bash -lc "cd $(printf '%q' "$DIR") && $COMMAND"`,
    );
  } else {
    lines.push(`echo "==> in $DIR: $COMMAND"`, `bash -c "$COMMAND"`);
  }
  lines.push(`echo "==> done: "${shellQuote(input.name)}`, "");
  return lines.join("\n");
}
