import { describe, expect, it } from "vitest";
import { InvalidInputError, RefusedError } from "../errors";
import { assertBranchAllowed, assertProductionConfirmed } from "./environment-rules";

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
});
