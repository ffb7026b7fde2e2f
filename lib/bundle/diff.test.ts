import { describe, expect, it } from "vitest";
import { diffFiles } from "./diff";

const f = (path: string, sha256: string, size = 1) => ({ path, sha256, size });

describe("bundle diff", () => {
  it("lists added, removed and changed files within the chosen paths", () => {
    const live = [f("services/audit/app.py", "a"), f("services/audit/old.py", "o"), f("services/gateway/x", "g")];
    const target = [f("services/audit/app.py", "b", 2), f("services/audit/new.py", "n"), f("services/gateway/x", "changed-but-out-of-scope")];
    expect(diffFiles(live, target, ["services/audit"])).toEqual([
      { path: "services/audit/app.py", change: "changed", sizeBefore: 1, sizeAfter: 2 },
      { path: "services/audit/new.py", change: "added", sizeAfter: 1 },
      { path: "services/audit/old.py", change: "removed", sizeBefore: 1 },
    ]);
    expect(diffFiles(live, live)).toEqual([]);
  });
});
