import { describe, expect, it } from "vitest";
import { appendChunks, lastChunkId, mergeDeployViews, prependPage } from "./live-merge";
import type { DeployView, HostRunView } from "./views";

const chunk = (id: number, text = `line ${id}`) => ({ id, stream: "stdout", text, at: "2026-11-23T00:00:00.000Z" });
const run = (id: string, live: HostRunView["live"], extra: Partial<HostRunView> = {}): HostRunView => ({
  id,
  attempt: 1,
  instanceId: id,
  hostName: id,
  status: "InProgress",
  statusDetails: null,
  responseCode: null,
  stdout: "",
  stderr: "",
  stdoutTruncated: false,
  stderrTruncated: false,
  startedAt: "2026-11-23T00:00:00.000Z",
  finishedAt: null,
  live,
  liveOlder: 0,
  ...extra,
});
const view = (hostRuns: HostRunView[], extra: Partial<DeployView> = {}) => ({ id: "d", status: "running", active: true, hostRuns, ...extra }) as DeployView;

describe("live merge", () => {
  it("appends pushed chunks once, to their own host run", () => {
    const v = view([run("a", [chunk(1)]), run("b", [chunk(2)])]);
    const next = appendChunks(v, [
      { hostRunId: "a", ...chunk(3) },
      { hostRunId: "b", ...chunk(4) },
      { hostRunId: "a", ...chunk(3) },
    ]);
    expect(next.hostRuns[0].live.map((c) => c.id)).toEqual([1, 3]);
    expect(next.hostRuns[1].live.map((c) => c.id)).toEqual([2, 4]);
    expect(lastChunkId(next)).toBe(4);
    expect(appendChunks(next, [{ hostRunId: "zzz", ...chunk(9) }])).toBe(next); // unknown run: nothing changes
    const empty = appendChunks(view([run("c", [])]), [{ hostRunId: "c", ...chunk(8) }, { hostRunId: "c", ...chunk(7) }]);
    expect(empty.hostRuns[0].live.map((c) => c.id)).toEqual([7, 8]);
  });

  it("a fetched snapshot taken before a pushed line does not drop it; a pushed state keeps the page's lines", () => {
    const page = view([run("a", [chunk(1), chunk(2), chunk(3)])]);
    const snapshot = view([run("a", [chunk(1), chunk(2)], { status: "Success" })], { status: "succeeded" });
    const merged = mergeDeployViews(page, snapshot);
    expect(merged.status).toBe("succeeded");
    expect(merged.hostRuns[0].status).toBe("Success");
    expect(merged.hostRuns[0].live.map((c) => c.id)).toEqual([1, 2, 3]);
    const state = view([run("a", [], { status: "Failed", liveOlder: 99 }), run("new", [], { liveOlder: 5 })]);
    const afterState = mergeDeployViews(merged, state, { withOutput: false });
    expect(afterState.hostRuns[0]).toMatchObject({ status: "Failed", liveOlder: 0 });
    expect(afterState.hostRuns[0].live.map((c) => c.id)).toEqual([1, 2, 3]);
    expect(afterState.hostRuns[1]).toMatchObject({ id: "new", live: [], liveOlder: 0 }); // its lines come as output events
  });

  it("an older page goes in front and counts down what is left", () => {
    const v = view([run("a", [chunk(5), chunk(6)], { liveOlder: 4 })]);
    const once = prependPage(v, "a", [chunk(3), chunk(4)], true);
    expect(once.hostRuns[0].live.map((c) => c.id)).toEqual([3, 4, 5, 6]);
    expect(once.hostRuns[0].liveOlder).toBe(2);
    const twice = prependPage(once, "a", [chunk(1), chunk(2)], false);
    expect(twice.hostRuns[0].live.map((c) => c.id)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(twice.hostRuns[0].liveOlder).toBe(0);
    // A refetch after that keeps the loaded pages.
    const refetched = mergeDeployViews(twice, view([run("a", [chunk(5), chunk(6), chunk(7)], { liveOlder: 4 })]));
    expect(refetched.hostRuns[0].live.map((c) => c.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(refetched.hostRuns[0].liveOlder).toBe(0);
  });
});
