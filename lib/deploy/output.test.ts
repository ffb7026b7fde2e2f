import { describe, expect, it } from "vitest";
import { composeScript } from "../remote/compose-script";
import { hostLines, parseStep, quietSeconds, stepsOf, summarizeHost, whatIsLive, type HostOutputSource } from "./output";

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
const run = (over: Partial<HostOutputSource>): HostOutputSource => ({ status: "InProgress", statusDetails: null, responseCode: null, stdout: "", stderr: "", finishedAt: null, live: [], ...over });

describe("hostLines", () => {
  it("keeps the printed order of live chunks (by id), stdout and stderr interleaved", () => {
    const lines = hostLines(
      run({
        finishedAt: at(9),
        status: "Success",
        stdout: "==> download\n==> done\n",
        stderr: "#1 building\n",
        live: [
          { id: 12, stream: "stdout", text: "==> done", at: at(5) },
          { id: 10, stream: "stdout", text: "==> download", at: at(1) },
          { id: 11, stream: "stderr", text: "#1 building\n#2 done", at: at(3) },
        ],
      }),
    );
    expect(lines.map((l) => `${l.stream}:${l.text}`)).toEqual(["stdout:==> download", "stderr:#1 building", "stderr:#2 done", "stdout:==> done"]);
  });

  it("uses SSM's final output only when nothing arrived live, with the end status last", () => {
    const lines = hostLines(
      run({
        finishedAt: at(9),
        status: "Failed",
        stdout: "==> download\n",
        stderr: "boom\n",
        live: [
          { id: 1, stream: "status", text: "InProgress", at: at(1) },
          { id: 2, stream: "status", text: "Failed", at: at(9) },
        ],
      }),
    );
    expect(lines.map((l) => `${l.stream}:${l.text}`)).toEqual(["status:InProgress", "stdout:==> download", "stderr:boom", "status:Failed"]);
  });
});

describe("steps of the real host script", () => {
  it("names every step composeScript prints", () => {
    const script = composeScript({
      deployLabel: "deploy-multi",
      repoPath: "/srv/aegis",
      region: "ap-south-1",
      bucket: "deploys",
      key: "deployments/acp_multi_1763900000.tar.gz",
      sha256: "a".repeat(64),
      replace: ["ui/dist"],
      paths: ["ui/dist", "services/gateway"],
      extractPaths: ["ui/dist", "services/gateway"],
      owner: "ubuntu:ubuntu",
      composeDir: "infra",
      composeServices: ["gateway"],
    });
    // Run the step lines as bash would print them: step "x "'y' → ==> x y
    const printed = [...script.matchAll(/^step (.*)$/gm)].map((m) => m[1].replace(/"|'/g, "").replace(/\$REPO/g, "/srv/aegis").replace(/\$\w+/g, "X"));
    const names = printed.map((p) => parseStep(p).name);
    expect(names).toEqual(["cd", "download", "verify sha256", "vet archive", "keep previous files", "replace ui/dist", "extract", "chown", "build gateway", "recreate gateway", "done"]);
  });
});

describe("summarizeHost", () => {
  it("says where a failed host stopped, its exit code and its last stderr line", () => {
    const source = run({
      status: "Failed",
      responseCode: 2,
      finishedAt: at(9),
      live: [
        { id: 1, stream: "stdout", text: "==> download s3://b/k\n==> verify sha256 abc\n==> extract into /srv/aegis", at: at(1) },
        { id: 2, stream: "stderr", text: "tar: services/audit: Cannot open: Permission denied\n", at: at(2) },
      ],
    });
    expect(summarizeHost(source).text).toBe("failed at step extract, exit 2: tar: services/audit: Cannot open: Permission denied");
  });

  it("tells a running, a timed out and a never-started host apart", () => {
    expect(summarizeHost(run({ live: [{ id: 1, stream: "stdout", text: "==> download x", at: at(1) }] })).text).toBe("running step download");
    expect(summarizeHost(run({ status: "TimedOut", statusDetails: "Execution Timed Out", responseCode: 137, finishedAt: at(9), live: [{ id: 1, stream: "stdout", text: "==> download x", at: at(1) }] })).text).toBe(
      "timed out at step download, exit 137 (Execution Timed Out)",
    );
    expect(summarizeHost(run({ status: "Undeliverable", responseCode: -1, finishedAt: at(9), statusDetails: "Undeliverable" })).text).toBe("never started: Undeliverable");
  });
});

describe("whatIsLive", () => {
  const upTo = (...names: string[]) => names;
  it("nothing changed before extraction", () => {
    expect(whatIsLive(upTo("cd /srv", "download s3://x"))).toMatch(/nothing was extracted, the previous files and containers still run/);
  });
  it("image built but container not recreated: the old container still runs", () => {
    const text = whatIsLive(upTo("cd /srv", "download x", "verify sha256 a", "extract into /srv", "chown u x", "docker compose build --no-cache gateway", "docker compose up -d --no-deps --force-recreate gateway"));
    expect(text).toBe("Files replaced and image built for gateway; gateway was being recreated: it may be stopped or starting.");
    const building = whatIsLive(upTo("extract into /srv", "chown u x", "docker compose build --no-cache audit", "docker compose up -d --no-deps --force-recreate audit", "docker compose build --no-cache gateway"));
    expect(building).toBe("Files replaced and image built for audit; image for gateway being built; audit recreated (runs the new code); container not recreated for gateway: the old container still runs.");
  });
  it("a finished script means the new bundle runs", () => {
    expect(whatIsLive(["extract into /srv", "done: x"])).toMatch(/runs the new bundle/);
  });
  it("stopped mid-extract", () => {
    expect(whatIsLive(["download x", "extract into /srv"])).toMatch(/mix of old and new files/);
  });
});

describe("quietSeconds", () => {
  it("counts from the last output line, or the start", () => {
    const base = { startedAt: at(0), finishedAt: null, live: [{ id: 1, stream: "stdout", text: "x", at: at(10) }, { id: 2, stream: "status", text: "InProgress", at: at(50) }] };
    expect(quietSeconds(base, new Date(at(0)).getTime() + 75_000)).toBe(65);
    expect(quietSeconds({ ...base, live: [] }, new Date(at(0)).getTime() + 5_000)).toBe(5);
    expect(quietSeconds({ ...base, finishedAt: at(80) }, Date.now())).toBeNull();
  });
});

it("stepsOf ignores stderr lines that look like steps", () => {
  expect(stepsOf([{ key: "1", stream: "stderr", text: "==> fake", at: null }, { key: "2", stream: "stdout", text: "==> done: x", at: null }])).toEqual(["done: x"]);
});
