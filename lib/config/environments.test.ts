// Per-environment settings for the runbooks' other teams: host profile (seeds/002's systemd + image).
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "./load";

const env = { region: "us-east-1", bucket: "atta-deploy-artifacts", hosts: [{ instanceId: "i-0123456789abcdef0", name: "EC2" }], repoPath: "/opt/atta" };
const config = (environment: Record<string, unknown>) => ({ repo: ".", environments: { dev: { ...env, ...environment } }, services: { atta: { paths: ["deploy", "VERSION"] } } });

function problems(raw: unknown) {
  try {
    parseConfig(raw, "/x/deckhand.config.json");
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("environment profiles", () => {
  it("defaults to compose", () => {
    expect(parseConfig(config({}), "/x/c.json").environments.dev.profile).toBe("compose");
  });

  it("takes a systemd profile with its unit, service dir and image, with defaults", () => {
    const parsed = parseConfig(config({ profile: "systemd", systemd: { unit: "atta", serviceDir: "/opt/atta", image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/atta" } }), "/x/c.json");
    expect(parsed.environments.dev.systemd).toEqual({ unit: "atta", serviceDir: "/opt/atta", unitDir: "/etc/systemd/system", image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/atta", settleSeconds: 3 });
  });

  it("names the file and field when the systemd block is missing or wrong", () => {
    expect(problems(config({ profile: "systemd" }))).toEqual([{ field: "environments.dev.systemd", message: expect.stringContaining('profile "systemd" needs a systemd block') }]);
    expect(problems(config({ profile: "kubernetes" }))[0]!.field).toBe("environments.dev.profile");
    const bad = problems(config({ profile: "systemd", systemd: { unit: "atta; reboot", serviceDir: "opt", image: "x/y:latest" } })).map((p) => p.field);
    expect(bad).toEqual(expect.arrayContaining(["environments.dev.systemd.unit", "environments.dev.systemd.serviceDir", "environments.dev.systemd.image"]));
  });
});
