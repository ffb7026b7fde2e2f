import { describe, expect, it } from "vitest";
import { bundleKey, bundleLabel, parseBundleKey } from "./naming";

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
});
