import { describe, expect, it } from "vitest";
import { bundleKey, bundleLabel, parseBundleKey, versionFromKey } from "./naming";

describe("bundle naming", () => {
  it("labels by service, ui for UI-only, multi for several", () => {
    expect(bundleLabel(["audit"])).toBe("audit");
    expect(bundleLabel(["ui"])).toBe("ui");
    expect(bundleLabel(["audit", "gateway"])).toBe("multi");
    expect(() => bundleLabel([])).toThrow();
  });

  it("builds keys like the runbooks and reads them back", () => {
    const key = bundleKey("deployments/", "acp_", "audit", 1779860735);
    expect(key).toBe("deployments/acp_audit_1779860735.tar.gz");
    expect(parseBundleKey(key, "acp_")).toEqual({ label: "audit", stamp: 1779860735 });
    expect(parseBundleKey("deployments/acp_flight_recorder_1779860735.tar.gz", "acp_")).toEqual({ label: "flight_recorder", stamp: 1779860735 });
    expect(parseBundleKey("deployments/other.tar.gz", "acp_")).toBeNull();
    expect(parseBundleKey("deployments/acp_ui_notastamp.tar.gz", "acp_")).toBeNull();
  });

  it("carries a version label before the stamp and reads it back", () => {
    const key = bundleKey("deployments/", "acp_", "audit", 1779860735, "1.2.3");
    expect(key).toBe("deployments/acp_audit_1.2.3_1779860735.tar.gz");
    expect(parseBundleKey(key, "acp_")).toEqual({ label: "audit", stamp: 1779860735, version: "1.2.3" });
    expect(parseBundleKey(bundleKey("d/", "acp_", "flight_recorder", 1779860735, "0.1.30-dev"), "acp_")).toEqual({ label: "flight_recorder", stamp: 1779860735, version: "0.1.30-dev" });
    expect(parseBundleKey("d/acp_multi_10.0.0-rc.1_1779860735.tar.gz", "acp_")).toEqual({ label: "multi", stamp: 1779860735, version: "10.0.0-rc.1" });
    // no version: as before
    expect(parseBundleKey("d/acp_ui_1779860735.tar.gz", "acp_")).toEqual({ label: "ui", stamp: 1779860735 });
    expect(() => bundleKey("d/", "acp_", "audit", 1779860735, "1.2")).toThrow(/version label/);
    expect(() => bundleKey("d/", "acp_", "audit", 1779860735, "1.2.3_x")).toThrow(/version label/);
    expect(parseBundleKey("d/acp_audit_01.2.3_1779860735.tar.gz", "acp_")).toBeNull();
  });

  it("finds the version in any key, for history", () => {
    expect(versionFromKey("deployments/acp_audit_1.2.3_1779860735.tar.gz")).toBe("1.2.3");
    expect(versionFromKey("prod/x_multi_0.1.30-dev_1779860735.tar.gz")).toBe("0.1.30-dev");
    expect(versionFromKey("bundles/dev/deploy-bundle-0.1.30-dev.tar.gz")).toBe("0.1.30-dev");
    expect(versionFromKey("deployments/acp_audit_1779860735.tar.gz")).toBeNull();
  });
});
