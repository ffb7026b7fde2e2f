// The sandbox's S3 (fauxqs, in memory, path-style — started as lib/sandbox/index.ts starts it), alone
// in its own process so the benchmark's packer and the server do not share an event loop.
// Prints one JSON line {"url": ...} once the bucket exists; stops on SIGTERM, or when stdin closes
// with --exit-with-stdin (so it never outlives the benchmark that started it).
import { buildApp } from "fauxqs";

const bucket = process.argv[2] && !process.argv[2].startsWith("--") ? process.argv[2] : "deckhand-bench";
const app = buildApp({ logger: false, defaultRegion: "ap-south-1" });
const url = (await app.listen({ host: "127.0.0.1", port: 0 })).replace("localhost", "127.0.0.1");
const created = await fetch(`${url}/${bucket}`, { method: "PUT" });
if (!created.ok) throw new Error(`could not create bucket ${bucket}: HTTP ${created.status}`);
console.log(JSON.stringify({ url, bucket }));
const stop = async () => {
  await app.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
if (process.argv.includes("--exit-with-stdin")) {
  process.stdin.on("end", stop);
  process.stdin.resume();
}
