/**
 * A host's output as one stream in printed order, the host script's steps, and what a stopped run
 * means for what is live. Pure and free of server imports, so the UI and tests can both use it.
 */

export interface OutputChunkLike {
  id: number;
  stream: string;
  text: string;
  at: string;
}

export interface HostOutputSource {
  status: string;
  statusDetails: string | null;
  responseCode: number | null;
  stdout: string;
  stderr: string;
  finishedAt: string | null;
  live: OutputChunkLike[];
}

export interface OutputLine {
  key: string;
  stream: string;
  text: string;
  /** When Deckhand received the line (live chunks only). */
  at: string | null;
}

const STEP_PREFIX = "==> ";

function splitLines(text: string): string[] {
  if (!text) return [];
  return text.replace(/\r\n/g, "\n").replace(/\n$/, "").split("\n");
}

const isOutput = (c: OutputChunkLike) => c.stream === "stdout" || c.stream === "stderr";

/**
 * One stream per host in the order it was printed: the live chunks by id when there are any (they
 * interleave stdout and stderr as they happened); only when nothing arrived live, SSM's final
 * stdout then stderr (SSM keeps them apart, so their interleaving is lost).
 */
export function hostLines(run: HostOutputSource): OutputLine[] {
  const chunks = [...run.live].sort((a, b) => a.id - b.id);
  const fromChunk = (c: OutputChunkLike) => splitLines(c.text).map((text, i) => ({ key: `${c.id}-${i}`, stream: c.stream, text, at: c.at }));
  if (chunks.some(isOutput)) return chunks.flatMap(fromChunk);
  const statuses = chunks.filter((c) => c.stream === "status");
  // The last status of a finished run is its end: it goes after the output.
  const end = run.finishedAt && statuses.length ? statuses[statuses.length - 1] : null;
  return [
    ...statuses.filter((c) => c !== end).flatMap(fromChunk),
    ...splitLines(run.stdout).map((text, i) => ({ key: `o${i}`, stream: "stdout", text, at: null })),
    ...splitLines(run.stderr).map((text, i) => ({ key: `e${i}`, stream: "stderr", text, at: null })),
    ...(end ? fromChunk(end) : []),
  ];
}

/** The host script's steps (its `==> ` lines on stdout), in order. */
export function stepsOf(lines: OutputLine[]): string[] {
  return lines.filter((l) => l.stream === "stdout" && l.text.startsWith(STEP_PREFIX)).map((l) => l.text.slice(STEP_PREFIX.length).trim());
}

export type StepKind = "cd" | "download" | "verify" | "replace" | "extract" | "chown" | "build" | "recreate" | "done" | "other";

export interface Step {
  kind: StepKind;
  /** Short name shown to the operator: "extract", "build gateway". */
  name: string;
  /** The compose service or path the step acts on, if any. */
  target: string | null;
}

const unquote = (s: string) => s.trim().replace(/^'(.*)'$/, "$1");

/** Names a `==> ` line of the host script (lib/remote/compose-script.ts). Unknown lines keep their text. */
export function parseStep(text: string): Step {
  const t = text.trim();
  let m: RegExpExecArray | null;
  if ((m = /^docker compose build\b.*?(\S+)$/.exec(t))) return { kind: "build", name: `build ${unquote(m[1])}`, target: unquote(m[1]) };
  if ((m = /^docker compose up\b.*?(\S+)$/.exec(t))) return { kind: "recreate", name: `recreate ${unquote(m[1])}`, target: unquote(m[1]) };
  if ((m = /^replace\s+(.+)$/.exec(t))) return { kind: "replace", name: `replace ${unquote(m[1])}`, target: unquote(m[1]) };
  if (/^download\b/.test(t)) return { kind: "download", name: "download", target: null };
  if (/^verify\b/.test(t)) return { kind: "verify", name: "verify sha256", target: null };
  if (/^extract\b/.test(t)) return { kind: "extract", name: "extract", target: null };
  if (/^chown\b/.test(t)) return { kind: "chown", name: "chown", target: null };
  if (/^done\b/.test(t)) return { kind: "done", name: "done", target: null };
  if (/^cd\b/.test(t)) return { kind: "cd", name: "cd", target: null };
  if (/^vet archive\b/.test(t)) return { kind: "other", name: "vet archive", target: null };
  if (/^keep what this deploy changes\b/.test(t)) return { kind: "other", name: "keep previous files", target: null };
  if (/^restored\b/.test(t)) return { kind: "other", name: "restored", target: null };
  return { kind: "other", name: t.length > 60 ? `${t.slice(0, 59)}…` : t, target: null };
}

const ENDED_OK = new Set(["Success"]);
const STOPPED = new Set(["Cancelled", "Cancelling", "TimedOut"]);

function lastMeaningfulLine(lines: OutputLine[], stream: string): string | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i];
    if (line.stream === stream && line.text.trim() && !line.text.startsWith(STEP_PREFIX)) return line.text.trim();
  }
  return null;
}

const clip = (s: string, n = 200) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export interface HostSummary {
  /** The last step the script reached, or null when it printed none. */
  step: Step | null;
  text: string;
}

/** One line per host: "failed at step extract, exit 2: tar: …". */
export function summarizeHost(run: HostOutputSource, lines: OutputLine[] = hostLines(run)): HostSummary {
  const steps = stepsOf(lines);
  const step = steps.length ? parseStep(steps[steps.length - 1]) : null;
  const at = step ? ` at step ${step.name}` : "";
  const exit = run.responseCode !== null && run.responseCode >= 0 ? `, exit ${run.responseCode}` : "";
  if (!run.finishedAt && !STOPPED.has(run.status) && !["Failed", "Undeliverable", "Terminated", "DeliveryTimedOut"].includes(run.status)) {
    return { step, text: step ? `running step ${step.name}` : run.status === "Pending" || run.status === "Delayed" ? "waiting for SSM to deliver the command" : "started, no step yet" };
  }
  if (ENDED_OK.has(run.status)) return { step, text: `succeeded${step?.kind === "done" ? "" : at}${exit}` };
  if (run.status === "TimedOut") return { step, text: `timed out${at}${exit}${run.statusDetails && run.statusDetails !== run.status ? ` (${run.statusDetails})` : ""}` };
  if (run.status === "Cancelled" || run.status === "Cancelling") return { step, text: `cancelled${at}${exit}` };
  if (run.responseCode === -1 || (!step && ["Undeliverable", "DeliveryTimedOut", "Terminated"].includes(run.status))) {
    return { step, text: `never started: ${run.statusDetails ?? run.status}` };
  }
  const why = lastMeaningfulLine(lines, "stderr") ?? lastMeaningfulLine(lines, "stdout");
  return { step, text: `failed${at}${exit}${why ? `: ${clip(why)}` : ""}` };
}

const list = (items: string[]) => (items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`);

/**
 * What a run that stopped part-way (cancel, timeout, failure) left on the host, from the steps it
 * reached. Steps run in order, so a step followed by another one finished.
 */
export function whatIsLive(stepTexts: string[]): string {
  const steps = stepTexts.map(parseStep);
  if (steps.length === 0) return "The script printed no step: nothing on the host changed, the previous files and containers still run.";
  const last = steps[steps.length - 1];
  if (last.kind === "done") return "Every step finished: this host runs the new bundle.";
  const reachedFiles = steps.some((s) => ["extract", "chown", "build", "recreate"].includes(s.kind));
  const extractDone = steps.some((s) => ["chown", "build", "recreate"].includes(s.kind));
  if (!reachedFiles) {
    if (last.kind === "replace") {
      return `Stopped while deleting ${last.target ?? "a replaced directory"} before extraction: those files may be missing; no image was built, the old containers still run.`;
    }
    return `Stopped at ${last.name}: nothing was extracted, the previous files and containers still run.`;
  }
  if (!extractDone) return "Stopped while extracting: the host may hold a mix of old and new files; no image was built, the old containers still run.";
  const finished = (kind: StepKind) => steps.filter((s, i) => s.kind === kind && i < steps.length - 1).map((s) => s.target ?? "?");
  const built = finished("build");
  const recreated = finished("recreate");
  const parts: string[] = [];
  let files = "files replaced";
  if (built.length) files += ` and image built for ${list(built)}`;
  if (last.kind === "build") files += `${built.length ? ";" : ","} image for ${last.target} being built`;
  parts.push(files);
  if (recreated.length) parts.push(`${list(recreated)} recreated (runs the new code)`);
  if (last.kind === "recreate") parts.push(`${last.target} was being recreated: it may be stopped or starting`);
  const untouched = [...new Set([...built, ...(last.kind === "build" && last.target ? [last.target] : [])])].filter((s) => !recreated.includes(s) && !(last.kind === "recreate" && last.target === s));
  if (untouched.length) parts.push(`${untouched.length > 1 ? "containers" : "container"} not recreated for ${list(untouched)}: the old ${untouched.length > 1 ? "containers still run" : "container still runs"}`);
  else if (!recreated.length && last.kind !== "recreate") parts.push("no container recreated: the old containers still run");
  return `${parts.join("; ")}.`.replace(/^./, (c) => c.toUpperCase());
}

/** Seconds since the host last printed anything (or since it started), or null once it ended. */
export function quietSeconds(run: { startedAt: string; finishedAt: string | null; live: OutputChunkLike[] }, now: number): number | null {
  if (run.finishedAt) return null;
  const output = run.live.filter(isOutput);
  const last = output.length ? output[output.length - 1].at : run.startedAt;
  return Math.max(0, (now - new Date(last).getTime()) / 1000);
}
