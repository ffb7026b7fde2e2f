// Stand-in for the AWS CLI on a sandbox host: only `aws s3 cp s3://BUCKET/KEY DEST`, read from the sandbox S3.
import fs from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { applyStepFaults } from "./faults.mjs";
import { envCredentials, signedFetch } from "./sigv4.mjs";

const endpoint = process.env.DECKHAND_SANDBOX_S3_ENDPOINT;
const args = process.argv.slice(2);

function usageError(message) {
  process.stderr.write(`usage: aws [options] <command> <subcommand> [<subcommand> ...] [parameters]\naws: error: ${message}\n`);
  process.exit(252);
}

const positional = [];
const flags = new Set();
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === "--region" || arg === "--endpoint-url" || arg === "--profile") i++;
  else if (arg.startsWith("--")) flags.add(arg);
  else positional.push(arg);
}
const [service, command, source, destination] = positional;
// `aws ecr get-login-password --region R`: the instance role's ECR token (seeds/002's login), valid for R only.
if (service === "ecr") {
  if (command !== "get-login-password") usageError(`argument operation: the sandbox only provides "aws ecr get-login-password" (got "${command ?? ""}")`);
  const at = args.indexOf("--region");
  const region = at >= 0 ? args[at + 1] : process.env.AWS_REGION;
  if (!region) usageError("You must specify a region.");
  const { ecrToken } = await import("./system-root.mjs");
  process.stdout.write(ecrToken(region));
  process.exit(0);
}
if (service !== "s3") usageError(`argument command: the sandbox only provides "aws s3 cp" (got "${service ?? ""}")`);
if (command !== "cp") usageError(`argument subcommand: the sandbox only provides "aws s3 cp" (got "${command ?? ""}")`);
if (!source || !destination) usageError("the following arguments are required: paths");
const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(source);
if (!match) usageError("the sandbox only downloads: aws s3 cp s3://BUCKET/KEY DEST");
const [, bucket, key] = match;
const quiet = flags.has("--only-show-errors") || flags.has("--quiet");

await applyStepFaults();

const url = `${endpoint}/${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
const credentials = envCredentials();
if (!credentials) {
  process.stderr.write("\nUnable to locate credentials. You can configure credentials by running \"aws configure\".\n");
  process.exit(253);
}
const region = process.env.AWS_REGION ?? "us-east-1";
const s3 = (method) => signedFetch(url, { method }, { credentials, region, service: "s3" });
const head = await s3("HEAD");
if (!head.ok) {
  const reason = head.status === 404 ? "Not Found" : head.status === 403 ? "Forbidden" : String(head.statusText);
  process.stderr.write(`fatal error: An error occurred (${head.status}) when calling the HeadObject operation: ${reason}\n`);
  process.exit(1);
}
let target = destination;
if (destination.endsWith("/") || (fs.existsSync(destination) && fs.statSync(destination).isDirectory())) {
  target = path.join(destination, path.basename(key));
}
const response = await s3("GET");
try {
  await pipeline(Readable.fromWeb(response.body), fs.createWriteStream(target));
} catch (error) {
  process.stderr.write(`download failed: ${source} to ${destination} ${error.message}\n`);
  process.exit(1);
}
if (!quiet) process.stdout.write(`download: ${source} to ${destination}\n`);
