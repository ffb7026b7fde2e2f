import { describe, expect, it } from "vitest";
import { carriesAnyOf, isSafeMember, layoutFromKey, underDirectory } from "./layout";

describe("bundle layouts from the key", () => {
  it("recognises the runbooks' own bundles", () => {
    expect(layoutFromKey("deployments/acp_ui_1779860735.tar.gz", "acp_", ["ui"])).toEqual({ layout: "static", label: "ui", stamp: 1779860735, version: null });
    expect(layoutFromKey("deployments/acp_audit_1779860735.tar.gz", "acp_", ["ui"])).toEqual({ layout: "repo", label: "audit", stamp: 1779860735, version: null });
    expect(layoutFromKey("deployments/acp_multi_1779860735.tar.gz", "acp_", ["ui"]).layout).toBe("repo");
    expect(layoutFromKey("deployments/acp_audit_1.2.3_1779860735.tar.gz", "acp_", ["ui"]).version).toBe("1.2.3");
    expect(layoutFromKey("bundles/dev/deploy-bundle-0.1.30-dev.tar.gz", "acp_")).toEqual({ layout: "systemd", label: null, stamp: 0, version: "0.1.30-dev" });
    expect(layoutFromKey("deployments/backup-2026.tar.gz", "acp_")).toEqual({ layout: "unknown", label: null, stamp: 0, version: null });
    expect(layoutFromKey("deployments/acp_ui_latest.tar.gz", "acp_", ["ui"]).layout).toBe("unknown");
  });

  it("maps a `tar -C dist .` bundle's members under the service's directory", () => {
    const files = [{ path: "./index.html", size: 1, sha256: "a" }, { path: "assets/index-abc.js", size: 2, sha256: "b" }, { path: ".", size: 0, sha256: "" }];
    expect(underDirectory(files, "ui/dist").map((f) => f.path)).toEqual(["ui/dist/index.html", "ui/dist/assets/index-abc.js"]);
    expect(carriesAnyOf(files, ["ui/dist"])).toBe(false);
    expect(carriesAnyOf(underDirectory(files, "ui/dist"), ["ui/dist"])).toBe(true);
  });

  it("refuses members a host must not extract", () => {
    for (const bad of ["/etc/passwd", "../x", "a/../../b", "a\nb", ""]) expect(isSafeMember(bad)).toBe(false);
    for (const ok of ["index.html", "./assets/x.js", "services/audit/app.py"]) expect(isSafeMember(ok)).toBe(true);
  });
});
