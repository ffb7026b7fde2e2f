// `npm start` on a busy port: one line naming the port and the way out, a non-zero exit, nothing started.
import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { describe, expect, it } from "vitest";

describe("npm start", () => {
  it("refuses a port already in use in one line and exits non-zero before building or starting anything", async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const child = spawn(process.execPath, [path.resolve("scripts/start.mjs")], { env: { ...process.env, PORT: String(port) }, stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout.on("data", (c) => (output += c));
      child.stderr.on("data", (c) => (output += c));
      const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
      expect(code).toBe(1);
      expect(output.trim().split("\n")).toEqual([`[deckhand] port ${port} on 127.0.0.1 is already in use: pick another with PORT=4000 npm start`]);
    } finally {
      blocker.close();
    }
  });
});
