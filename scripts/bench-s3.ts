// The sandbox's S3 alone, in its own process (so the benchmark's packer and the server do not share
// an event loop): fauxqs in memory behind the sandbox's conditional-write front, with fresh
// credentials every request must be signed with — started as lib/sandbox/index.ts starts them.
// Prints one JSON line {url, bucket, credentials} once the bucket exists; stops on SIGTERM, or when
// stdin closes with --exit-with-stdin (so it never outlives the benchmark that started it).
import { buildApp } from "fauxqs";
import { newSandboxCredentials } from "../lib/sandbox/auth";
import { startConditionalS3 } from "../lib/sandbox/s3Conditional";
import { signedFetch } from "../lib/sandbox/tools/sigv4.mjs";

const region = "ap-south-1";
const bucket = process.argv[2] && !process.argv[2].startsWith("--") ? process.argv[2] : "deckhand-bench";
const credentials = newSandboxCredentials();
const app = buildApp({ logger: false, defaultRegion: region });
const upstream = (await app.listen({ host: "127.0.0.1", port: 0 })).replace("localhost", "127.0.0.1");
const front = await startConditionalS3(upstream, { credentials, region });
const created = await signedFetch(`${front.url}/${bucket}`, { method: "PUT" }, { credentials, region, service: "s3" });
if (!created.ok) throw new Error(`could not create bucket ${bucket}: HTTP ${created.status}`);
console.log(JSON.stringify({ url: front.url, bucket, credentials }));
const stop = async () => {
  await front.close();
  await app.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
if (process.argv.includes("--exit-with-stdin")) {
  process.stdin.on("end", stop);
  process.stdin.resume();
}
