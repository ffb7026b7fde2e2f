import { describe, expect, it } from "vitest";
import { InvalidInputError, RefusedError } from "../errors";
import { assertBranchAllowed, assertProductionConfirmed, assertVersionLabel, environmentsSharingHosts } from "./environment-rules";

describe("environment rules", () => {
  it("production needs its exact name typed; other environments need nothing", () => {
    expect(() => assertProductionConfirmed("staging", { production: false }, undefined)).not.toThrow();
    expect(() => assertProductionConfirmed("prod", { production: true }, "prod")).not.toThrow();
    for (const typed of [undefined, "", "Prod", "prod ", "staging"]) {
      expect(() => assertProductionConfirmed("prod", { production: true }, typed)).toThrow(InvalidInputError);
    }
    try {
      assertProductionConfirmed("prod", { production: true }, undefined);
    } catch (error) {
      expect((error as InvalidInputError).fieldErrors.confirmEnvironment).toMatch(/type its name/);
    }
  });

  it("a branch rule refuses another branch, a detached HEAD and no git, with the reason", () => {
    const rule = { branch: "dev" };
    expect(() => assertBranchAllowed("dev", {}, null)).not.toThrow();
    expect(() => assertBranchAllowed("dev", rule, { sha: "a", branch: "dev", dirty: false })).not.toThrow();
    expect(() => assertBranchAllowed("dev", rule, { sha: "a", branch: "main", dirty: false })).toThrow(/deploys only from the "dev" branch; the repo is on branch "main"/);
    expect(() => assertBranchAllowed("dev", rule, { sha: "a", branch: "HEAD", dirty: false })).toThrow(/detached HEAD/);
    expect(() => assertBranchAllowed("dev", rule, null)).toThrow(RefusedError);
  });

  it("checks version labels and the environment's suffix", () => {
    expect(() => assertVersionLabel("dev", {}, undefined)).not.toThrow();
    expect(() => assertVersionLabel("dev", {}, "1.2.3")).not.toThrow();
    expect(() => assertVersionLabel("dev", { versionSuffix: "dev" }, "0.1.30-dev")).not.toThrow();
    expect(() => assertVersionLabel("dev", { versionSuffix: "dev" }, "0.1.30")).toThrow(/must end with -dev/);
    for (const bad of ["1.2", "v1.2.3", "1.2.3_x", "1.2.3-", "1.2.3; reboot"]) expect(() => assertVersionLabel("dev", {}, bad)).toThrow(InvalidInputError);
  });

  it("names the environments that share hosts, for the one-deploy-at-a-time rule", () => {
    const h = (id: string) => ({ instanceId: id, name: id });
    const envs = { sandbox: { hosts: [h("i-a"), h("i-b")] }, production: { hosts: [h("i-b"), h("i-a")] }, other: { hosts: [h("i-c")] } };
    expect(environmentsSharingHosts(envs, "sandbox")).toEqual(["production", "sandbox"]);
    expect(environmentsSharingHosts(envs, "other")).toEqual(["other"]);
  });
});
