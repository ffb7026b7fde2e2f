import { describe, expect, it } from "vitest";
import { parseConfig } from "../config/load";
import { PlanError, planDeploy } from "./plan";

const config = parseConfig(
  {
    repo: "/repo",
    environments: { prod: { region: "ap-south-1", bucket: "deploys-bucket", hosts: [{ instanceId: "i-0123456789abcdef0", name: "EC2 a" }], repoPath: "/home/ubuntu/aegis" } },
    services: {
      ui: { paths: ["ui/dist", "ui/nginx.conf"], replace: ["ui/dist"], build: { command: "npm run build", dir: "ui" }, compose: ["ui"] },
      audit: { paths: ["services/audit"], compose: ["audit"] },
      gateway: { paths: ["services/gateway", "ui/nginx.conf"], compose: ["gateway"] },
    },
  },
  "/repo/deckhand.config.json",
);

describe("deploy plan", () => {
  it("UI-only: dist replaced, local build first", () => {
    expect(planDeploy(config, "prod", ["ui"])).toEqual({
      kind: "static files",
      environment: "prod",
      services: ["ui"],
      label: "ui",
      paths: ["ui/dist", "ui/nginx.conf"],
      replace: ["ui/dist"],
      composeServices: ["ui"],
      builds: [{ service: "ui", command: "npm run build", cwd: "/repo/ui" }],
    });
  });

  it("one service", () => {
    expect(planDeploy(config, "prod", ["audit"])).toMatchObject({ kind: "one service", label: "audit", paths: ["services/audit"], replace: [], composeServices: ["audit"], builds: [] });
  });

  it("several: union of paths without duplicates, every compose service", () => {
    expect(planDeploy(config, "prod", ["gateway", "audit", "audit"])).toMatchObject({
      services: ["audit", "gateway"],
      label: "multi",
      paths: ["services/audit", "services/gateway", "ui/nginx.conf"],
      composeServices: ["audit", "gateway"],
    });
  });

  it("takes the static-files shape from the config, not from a service called ui", () => {
    const renamed = parseConfig(
      {
        repo: "/repo",
        environments: { prod: { region: "ap-south-1", bucket: "deploys-bucket", hosts: [{ instanceId: "i-0123456789abcdef0", name: "EC2 a" }], repoPath: "/srv/app" } },
        services: {
          frontend: { paths: ["web/build"], replace: ["web/build"], compose: ["web"] },
          ui: { paths: ["services/ui-api"], compose: ["ui-api"] },
          docs: { paths: ["docs/site"], compose: ["docs"], static: true },
        },
      },
      "/repo/deckhand.config.json",
    );
    expect(planDeploy(renamed, "prod", ["frontend"]).kind).toBe("static files");
    expect(planDeploy(renamed, "prod", ["ui"]).kind).toBe("one service");
    expect(planDeploy(renamed, "prod", ["docs"]).kind).toBe("static files");
    expect(planDeploy(renamed, "prod", ["docs", "ui"]).kind).toBe("several services");
  });

  it("refuses unknown services and environments, naming the file", () => {
    expect(() => planDeploy(config, "prod", ["billing"])).toThrow(PlanError);
    expect(() => planDeploy(config, "prod", ["billing"])).toThrow(/deckhand.config.json/);
    expect(() => planDeploy(config, "staging", ["audit"])).toThrow(/No environment "staging"/);
    expect(() => planDeploy(config, "prod", [])).toThrow(/at least one/);
  });
});

describe("systemd profile plans", () => {
  const config = parseConfig(
    {
      repo: ".",
      environments: {
        dev: { profile: "systemd", systemd: { unit: "atta", serviceDir: "/opt/atta", image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/atta" }, region: "us-east-1", bucket: "atta-deploys", hosts: [{ instanceId: "i-0123456789abcdef0", name: "EC2" }], repoPath: "/opt/atta" },
      },
      services: { atta: { paths: ["deploy", "VERSION"] }, audit: { paths: ["services/audit"], compose: ["audit"] } },
    },
    "/x/deckhand.config.json",
  );
  it("takes a service that carries VERSION and deploy/, and refuses one that does not", () => {
    expect(planDeploy(config, "dev", ["atta"]).paths).toEqual(["VERSION", "deploy"]);
    expect(() => planDeploy(config, "dev", ["audit"])).toThrow(/systemd profile: a bundle there must carry VERSION and deploy\//);
  });
});
