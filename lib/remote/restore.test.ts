import { describe, expect, it } from "vitest";
import { restoreNote } from "../deploy/phases/host-results";
import { composeScript } from "./compose-script";
import { pathsToKeep, restoreArmLines } from "./restore";
import { UnsafeValueError } from "./shell";

describe("the restore block", () => {
  it("keeps the outermost paths only: replaced dirs moved, extracted-over paths copied", () => {
    expect(pathsToKeep(["ui/dist", "ui/nginx.conf"], ["ui/dist"])).toEqual([
      { path: "ui/dist", how: "move" },
      { path: "ui/nginx.conf", how: "copy" },
    ]);
    expect(pathsToKeep(["ui", "ui/dist/"], ["ui/dist"])).toEqual([{ path: "ui", how: "copy" }]);
    expect(pathsToKeep(["services/audit", "services/auditor"], [])).toEqual([
      { path: "services/audit", how: "copy" },
      { path: "services/auditor", how: "copy" },
    ]);
  });

  it("arms before the first replace or extraction and disarms only after the last up", () => {
    const script = composeScript({ deployLabel: "d1", repoPath: "/srv/app", region: "ap-south-1", bucket: "deploy-bucket", key: "deployments/acp_ui_1779860735.tar.gz", sha256: "a".repeat(64), replace: ["ui/dist"], paths: ["ui/dist"], owner: "ubuntu:ubuntu", composeDir: "infra", composeServices: ["ui", "audit"] });
    const armed = script.indexOf(`trap 'deckhand_restore "a step failed"' ERR`);
    expect(armed).toBeGreaterThan(script.indexOf('if [ "$ACTUAL_SHA256" != "$EXPECTED_SHA256" ]'));
    expect(armed).toBeLessThan(script.indexOf("sudo rm -rf -- 'ui/dist'"));
    expect(script.indexOf("deckhand_keep 'ui/dist' move")).toBeLessThan(script.indexOf("sudo tar xzf"));
    expect(script.indexOf("trap - ERR TERM INT\nsudo rm -f -- \"$PREVIOUS/armed\"")).toBeGreaterThan(script.lastIndexOf("sudo docker compose up"));
  });

  it("refuses a hostile label or path", () => {
    expect(() => restoreArmLines({ deployLabel: "x'; reboot; '", paths: ["a"], replace: [] })).toThrow(UnsafeValueError);
    expect(() => restoreArmLines({ deployLabel: "d1", paths: ["a b$(reboot)"], replace: [] })).toThrow(UnsafeValueError);
  });

  it("turns a failed host's output into a note: restored, or the last step reached", () => {
    expect(restoreNote("Success", "==> restored x")).toBeNull();
    expect(restoreNote("Failed", "==> cd /srv\n==> docker compose build 'a'\n==> restored services/a as they were before this deploy (a step failed; last step reached: docker compose build a)\n")).toBe(
      "restored services/a as they were before this deploy (a step failed; last step reached: docker compose build a)",
    );
    expect(restoreNote("TimedOut", "==> cd /srv\n==> download s3://b/k\n")).toBe("last step reached: download s3://b/k (nothing was put back)");
    expect(restoreNote("Failed", "")).toBeNull();
  });
});
