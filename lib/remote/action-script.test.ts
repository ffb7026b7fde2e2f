import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { actionScript, type ActionScriptInput } from "./action-script";
import { UnsafeValueError } from "./shell";

const dnsFix: ActionScriptInput = { name: "docker-dns-fix", repoPath: "/home/ubuntu/aegis", dir: "infra", command: "docker compose up -d --force-recreate gateway ui" };
const redeploy: ActionScriptInput = { name: "redeploy", repoPath: "/home/ubuntu/omneuro", command: "./scripts/04-redeploy.sh", runAs: "ubuntu" };

function bashSyntaxOk(script: string): void {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-action-")), "action.sh");
  fs.writeFileSync(file, script);
  execFileSync("bash", ["-n", file]);
}

describe("runbook action script", () => {
  it("matches the golden scripts (seeds/000's DNS fix; seeds/004's redeploy as ubuntu) and is bash -n clean", async () => {
    await expect(actionScript(dnsFix)).toMatchFileSnapshot("./golden/action-dns-fix.sh");
    await expect(actionScript(redeploy)).toMatchFileSnapshot("./golden/action-run-as.sh");
    bashSyntaxOk(actionScript(dnsFix));
    bashSyntaxOk(actionScript(redeploy));
    expect(actionScript(redeploy)).toContain(`sudo -i -u 'ubuntu' bash -lc "cd $(printf '%q' "$DIR") && $COMMAND"`);
  });

  it("runs the operator's command as written, in its directory, without it touching the script around it", () => {
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-action-repo-"));
    fs.mkdirSync(path.join(repo, "infra"));
    const command = `echo "in $(basename "$PWD")"; echo 'it'"'"'s $(literal)'; exit 0`;
    const out = execFileSync("bash", ["-c", actionScript({ name: "probe", repoPath: repo, dir: "infra", command })], { encoding: "utf8" });
    expect(out.split("\n")).toEqual([`==> in ${repo}/infra: ${command}`, "in infra", "it's $(literal)", "==> done: probe", ""]);
  });

  it("fails with the command's exit code", () => {
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-action-repo-"));
    let status = 0;
    try {
      execFileSync("bash", ["-c", actionScript({ name: "fails", repoPath: repo, command: "exit 7" })], { stdio: "ignore" });
    } catch (error) {
      status = (error as { status: number }).status;
    }
    expect(status).toBe(7);
  });

  const hostile: [keyof ActionScriptInput, unknown][] = [
    ["name", "fix'; reboot; '"],
    ["repoPath", "/srv/app; reboot"],
    ["dir", "../../etc"],
    ["dir", "infra$(id)"],
    ["runAs", "ubuntu; id"],
    ["runAs", "root'"],
    ["command", ""],
    ["command", "a\u0000b"],
  ];
  for (const [field, value] of hostile) {
    it(`refuses a hostile ${field}: ${JSON.stringify(value)}`, () => {
      expect(() => actionScript({ ...dnsFix, [field]: value })).toThrow(UnsafeValueError);
    });
  }
});
