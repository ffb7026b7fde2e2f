import { describe, expect, it } from "vitest";
import { deployPhases, secondsBetween, type TimelineInput } from "./timeline";

const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
const base: TimelineInput = { kind: "deploy", status: "succeeded", reviewScript: false, createdAt: t(0), finishedAt: t(60), events: [], hostRuns: [] };
const states = (input: TimelineInput) => deployPhases(input).map((p) => `${p.key}:${p.state}:${p.stateText}`);

describe("deployPhases", () => {
  it("a rollback has no build or upload phase", () => {
    const phases = deployPhases({ ...base, kind: "rollback", events: [{ phase: "send", message: "sent", at: t(1) }], hostRuns: [{ startedAt: t(1), finishedAt: t(20) }] });
    expect(phases.map((p) => p.key)).toEqual(["send", "run"]);
    expect(phases.every((p) => p.state === "done")).toBe(true);
  });

  it("a deploy without a build command shows build skipped, with durations per phase", () => {
    const phases = deployPhases({
      ...base,
      events: [
        { phase: "pack", message: "10 files", at: t(2) },
        { phase: "upload", message: "uploaded 100 bytes", at: t(5) },
        { phase: "send", message: "sent", at: t(7) },
      ],
      hostRuns: [{ startedAt: t(7), finishedAt: t(50) }],
    });
    expect(phases.map((p) => `${p.key}:${p.stateText}`)).toEqual(["build:skipped (no build command)", "upload:done", "send:done", "run:done"]);
    expect(secondsBetween(phases[1].startedAt, phases[1].endedAt)).toBe(5);
    expect(secondsBetween(phases[3].startedAt, phases[3].endedAt)).toBe(53);
  });

  it("a running deploy: done before, running now, not yet after", () => {
    expect(states({ ...base, status: "uploading", finishedAt: null, events: [{ phase: "build", message: "$ npm run build", at: t(1) }, { phase: "pack", message: "x", at: t(3) }] })).toEqual([
      "build:done:done",
      "upload:running:running",
      "send:pending:not yet",
      "run:pending:not yet",
    ]);
  });

  it("a failed build stops there; later phases say not reached", () => {
    expect(states({ ...base, status: "failed", events: [{ phase: "build", message: "$ npm run build", at: t(1) }] })).toEqual([
      "build:failed:failed",
      "upload:skipped:not reached",
      "send:skipped:not reached",
      "run:skipped:not reached",
    ]);
  });

  it("cancelled while waiting for review is stopped at review; an unknown status falls back to its words", () => {
    const uploadedEvents = [
      { phase: "pack", message: "x", at: t(1) },
      { phase: "upload", message: "uploaded 10 bytes, sha256 x", at: t(2) },
    ];
    expect(states({ ...base, reviewScript: true, status: "cancelled", events: uploadedEvents })).toContain("review:stopped:cancelled");
    expect(states({ ...base, status: "awaiting_confirmation", reviewScript: true, finishedAt: null, events: uploadedEvents })).toContain("review:running:waiting for you");
    expect(() => deployPhases({ ...base, status: "some_new_status", events: uploadedEvents })).not.toThrow();
  });

  it("checks_failed adds a failed verify phase after a done run", () => {
    const result = states({ ...base, kind: "redeploy", status: "checks_failed", events: [{ phase: "send", message: "s", at: t(1) }, { phase: "verify", message: "probe", at: t(30) }], hostRuns: [{ startedAt: t(1), finishedAt: t(29) }] });
    expect(result).toEqual(["send:done:done", "run:done:done", "verify:failed:checks failed"]);
  });
});
