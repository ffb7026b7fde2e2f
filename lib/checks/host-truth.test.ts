import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { createHash } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectFiles } from "../bundle/pack";
import { hostTruthScript, HOST_TRUTH_MARKER } from "../remote/host-truth-script";
import { decideHost, describeVerdict, parseHostTruth, type CandidateBundle } from "./host-truth";

const PATHS = ["ui/dist", "ui/nginx.conf", "services/audit"];
const SERVICES = [
  { name: "ui", paths: ["ui/dist", "ui/nginx.conf"] },
  { name: "audit", paths: ["services/audit"] },
];

let tmp: string;
let front: http.Server;
let frontPage = "";
let frontUrl = "";
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "deckhand-truth-"));
  front = http.createServer((_req, res) => res.end(frontPage));
  await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));
  frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}/`;
});
afterAll(() => {
  front.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function write(root: string, files: Record<string, string>) {
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), content);
  }
}

const ui = (v: string) => ({ "ui/dist/index.html": `<script src="/assets/index-${v}.js"></script>`, [`ui/dist/assets/index-${v}.js`]: `ui ${v}`, "ui/nginx.conf": "server {}\n" });
const audit = (v: string) => ({ "services/audit/app.py": "print('audit')\n", "services/audit/VERSION": `${v}\n` });

/** A real manifest for a bundle of these files, as lib/bundle makes it. */
async function bundle(key: string, files: Record<string, string>, paths: string[], replace: string[]): Promise<CandidateBundle & { bytes: string }> {
  const dir = fs.mkdtempSync(path.join(tmp, "src-"));
  write(dir, files);
  const collected = await collectFiles(dir, paths);
  const manifest = { format: 1, label: key, paths, replace, services: [], files: collected.map(({ path: p, size, sha256 }) => ({ path: p, size, sha256 })) };
  const bytes = JSON.stringify(manifest, null, 2) + "\n";
  return { key, manifest, manifestSha256: createHash("sha256").update(bytes).digest("hex"), bytes };
}

/** Runs the generated script with real bash against a directory standing in for the host's repo. */
async function readHost(repo: string, maxFiles?: number) {
  const script = hostTruthScript({ repoPath: repo, paths: PATHS, frontUrl, maxFiles });
  // Async, so this process's loopback front server can answer the script's curl.
  const { stdout } = await promisify(execFile)("bash", ["-c", script], { encoding: "utf8" });
  return parseHostTruth(stdout, PATHS);
}

describe("host truth from a real run of the script", () => {
  it("names the bundle each service came from: current, stale, hand-edited, deployed by hand", async () => {
    const uiV1 = await bundle("deployments/acp_ui_1.tar.gz", ui("aaaa1111"), ["ui/dist", "ui/nginx.conf"], ["ui/dist"]);
    const uiV2 = await bundle("deployments/acp_ui_2.tar.gz", ui("bbbb2222"), ["ui/dist", "ui/nginx.conf"], ["ui/dist"]);
    const auditV1 = await bundle("deployments/acp_audit_1.tar.gz", audit("1.0.0"), ["services/audit"], []);
    const candidates = [uiV2, auditV1, uiV1]; // newest first

    // Host a: got ui v2 (its manifest extracted last) and audit v1 with a leftover file.
    const hostA = path.join(tmp, "a");
    write(hostA, { ...ui("bbbb2222"), ...audit("1.0.0"), "services/audit/old_module.py": "leftover\n", ".deckhand/manifest.json": uiV2.bytes });
    frontPage = '<script src="/assets/index-bbbb2222.js"></script>';
    const a = await readHost(hostA);
    expect(a).toMatchObject({ ok: true, manifestSha256: uiV2.manifestSha256, front: { ok: true, indexJs: "index-bbbb2222.js" } });
    const verdictA = decideHost(a, SERVICES, candidates, { byService: { ui: uiV2.key }, indexJs: "index-bbbb2222.js" });
    expect(verdictA.services).toEqual([
      { service: "ui", state: "matches", bundleKey: uiV2.key },
      { service: "audit", state: "matches", bundleKey: auditV1.key }, // extra files are fine outside replaced dirs
    ]);
    expect(verdictA).toMatchObject({ lastManifestKey: uiV2.key, front: { ok: true } });

    // Host b: the deploy never reached it (still ui v1) — and nobody ever wrote a manifest there (deployed by hand).
    const hostB = path.join(tmp, "b");
    write(hostB, { ...ui("aaaa1111"), ...audit("1.0.0") });
    frontPage = '<script src="/assets/index-aaaa1111.js"></script>';
    const b = await readHost(hostB);
    expect(b.manifestSha256).toBeNull();
    const verdictB = decideHost(b, SERVICES, candidates, { byService: { ui: uiV2.key }, indexJs: "index-bbbb2222.js" });
    expect(verdictB.services[0]).toEqual({ service: "ui", state: "stale", bundleKey: uiV1.key, expectedKey: uiV2.key });
    expect(describeVerdict(verdictB.services[0]!)).toBe(`ui: still ${uiV1.key}, not ${uiV2.key}`);
    expect(verdictB.front).toEqual({ indexJs: "index-aaaa1111.js", expected: "index-bbbb2222.js", ok: false });

    // A hand edit on host b, and an extra file in a replaced dir: neither is any known bundle.
    fs.writeFileSync(path.join(hostB, "services/audit/VERSION"), "1.0.0-hotfix\n");
    fs.writeFileSync(path.join(hostB, "ui/dist/assets/extra.js"), "x");
    const edited = decideHost(await readHost(hostB), SERVICES, candidates);
    expect(edited.services.map(describeVerdict)).toEqual(["ui: not from any known bundle", "audit: not from any known bundle"]);
  });

  it("matches a UI bundle made by hand from inside ui/dist (seeds/000's tar -C dist .) through its root", async () => {
    const inside = Object.fromEntries(Object.entries(ui("cccc3333")).filter(([f]) => f.startsWith("ui/dist/")).map(([f, c]) => [f.slice("ui/dist/".length), c]));
    const byHand = await bundle("deployments/acp_ui_1779860735.tar.gz", inside, ["index.html", "assets"], []);
    const host = path.join(tmp, "hand");
    write(host, ui("cccc3333"));
    const reading = await readHost(host);
    const uiDistOnly = [{ name: "ui", paths: ["ui/dist"] }];
    expect(decideHost(reading, uiDistOnly, [byHand]).services).toEqual([{ service: "ui", state: "unknown", expectedKey: null }]);
    expect(decideHost(reading, uiDistOnly, [{ ...byHand, root: "ui/dist" }]).services).toEqual([{ service: "ui", state: "matches", bundleKey: byHand.key }]);
  });

  it("falls back to the exact digest when the listing is truncated", async () => {
    const uiV1 = await bundle("deployments/acp_ui_1.tar.gz", ui("aaaa1111"), ["ui/dist", "ui/nginx.conf"], ["ui/dist"]);
    const host = path.join(tmp, "c");
    write(host, ui("aaaa1111"));
    const reading = await readHost(host, 1);
    expect(reading.paths.find((p) => p.path === "ui/dist")).toMatchObject({ exists: true, truncated: true, count: 2 });
    expect(decideHost(reading, SERVICES, [uiV1]).services).toEqual([
      { service: "ui", state: "matches", bundleKey: uiV1.key },
      { service: "audit", state: "missing" },
    ]);
  });

  it("says so when the repo is not there", async () => {
    const reading = await readHost(path.join(tmp, "nowhere"));
    expect(reading).toMatchObject({ ok: true, repoExists: false });
    expect(decideHost(reading, SERVICES, []).services.map((s) => s.state)).toEqual(["missing", "missing"]);
  });
});

describe("parsing untrusted host output", () => {
  const line = (value: unknown) => `${HOST_TRUTH_MARKER} ${typeof value === "string" ? value : JSON.stringify(value)}\n`;
  const good = { v: 1, repo: true, manifest: "", paths: [{ path: "ui/dist", exists: false }], front: { ok: false, indexJs: "" } };
  const cases: [string, string, RegExp][] = [
    ["no line", "hello\n", /no host-truth line/],
    ["two lines", line(good) + line(good), /more than one/],
    ["not JSON", line("{nope"), /not JSON/],
    ["too long", line("x".repeat(70_000)), /longer than/],
    ["a path not asked for", line({ ...good, paths: [{ path: "etc", exists: false }] }), /not asked for: etc/],
    ["a file outside its path", line({ ...good, paths: [{ path: "ui/dist", exists: true, digest: "a".repeat(64), count: 1, odd: 0, truncated: false, files: [["etc/passwd", "a".repeat(16)]] }] }), /outside ui\/dist/],
    ["a hostile index name", line({ ...good, front: { ok: true, indexJs: "<script>" } }), /malformed/],
    ["an extra field", line({ ...good, admin: true }), /malformed/],
  ];
  for (const [name, stdout, problem] of cases) {
    it(`refuses ${name}`, () => {
      const reading = parseHostTruth(stdout, ["ui/dist"]);
      expect(reading.ok).toBe(false);
      expect(reading.problem).toMatch(problem);
      expect(decideHost(reading, [{ name: "ui", paths: ["ui/dist"] }], []).services[0]).toMatchObject({ state: "unreadable" });
    });
  }
});
