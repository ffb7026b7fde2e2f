import { z } from "zod";
import { actionsSchema, checksSchema, targetGroupArn } from "./checks-schema";

// Strict patterns: these values end up inside a generated bash script (lib/remote quotes them as well).
const instanceId = z.string().regex(/^(i|mi)-[0-9a-f]{8,17}$/, "must look like an EC2 instance id (i- followed by 8 or 17 hex digits)");
// Names an object already answers to can never be config keys: a lookup must not reach Object.prototype.
const RESERVED = new Set(["__proto__", "constructor", "prototype", ...Object.getOwnPropertyNames(Object.prototype)]);
const notReserved = (name: string) => !RESERVED.has(name);
const serviceName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "must be lowercase letters, digits, - or _").refine(notReserved, "is a reserved name");
const composeName = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/, "must be a Docker Compose service name");
const repoRelativePath = z
  .string()
  .min(1)
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.\/-]*$/, "must be a plain repo-relative path (letters, digits, _ . / -)")
  .refine((p) => !p.split("/").some((part) => part === ".." || part === "."), "must not contain . or .. segments")
  .transform((p) => p.replace(/\/+$/, ""));
const absolutePath = z
  .string()
  .regex(/^\/[A-Za-z0-9_.\/-]*$/, "must be an absolute path of letters, digits, _ . / -")
  .refine((p) => !p.split("/").includes(".."), "must not contain .. segments");
const bucketName = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be a valid S3 bucket name");
const keyPrefix = z
  .string()
  .regex(/^([A-Za-z0-9_.-]+\/)*$/, "must be empty or end with / and use letters, digits, _ . -")
  .refine((p) => !p.split("/").some((part) => part === ".." || part === "."), "must not contain . or .. segments");
const region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "must be an AWS region such as ap-south-1");

export const hostSchema = z.object({
  instanceId,
  name: z.string().min(1).max(64).regex(/^[^\u0000-\u001f\u007f]*$/, "must not contain control characters"),
});

/** A container image without its tag: `<registry>/<repository>` (an ECR registry gets an ECR login first). */
const imageName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]*(:[0-9]{1,5})?\/[a-z0-9][a-z0-9._\/-]{0,254}$/, "must be <registry>/<repository> without a tag, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/atta");

/** seeds/002's host: a systemd unit that runs a Docker image whose tag is the bundle's VERSION. */
export const systemdSchema = z.object({
  /** The unit's name without `.service`; the bundle carries deploy/systemd/<unit>.service. */
  unit: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/, "must be a systemd unit name without .service"),
  /** Where the bundle's deploy/ and VERSION go on the host, and its .env (seeds/002: /opt/atta). */
  serviceDir: absolutePath,
  unitDir: absolutePath.default("/etc/systemd/system"),
  image: imageName,
  /** Seconds the unit must stay up after the restart before it counts as active. */
  settleSeconds: z.number().int().min(0).max(120).default(3),
});

export const environmentSchema = z.object({
  /** How hosts run what is deployed: compose rebuilt from a source tree (seeds/000), or a systemd unit running an image (seeds/002). */
  profile: z.enum(["compose", "systemd"]).default("compose"),
  /** Marked everywhere in the UI; a deploy or rollback needs the environment's name typed in. */
  production: z.boolean().default(false),
  /** Deploys of new bundles only from this git branch (seeds/002: dev deploys only from `dev`). */
  branch: z
    .string()
    .regex(/^(?!\/|.*\/$|.*\.\.|.*\/\/|.*@\{)[A-Za-z0-9][A-Za-z0-9._\/-]{0,199}$/, "must be a git branch name")
    .optional(),
  systemd: systemdSchema.optional(),
  /** Version labels given at deploy time must end with -<suffix> (seeds/002: "-dev" for the dev environment). */
  versionSuffix: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.]{0,30}$/, "must be letters, digits or . (without the leading -)").optional(),
  region,
  bucket: bucketName,
  prefix: keyPrefix.default("deployments/"),
  retentionDays: z.number().int().positive().default(7),
  hosts: z.array(hostSchema).min(1).max(50, "SSM takes at most 50 instance ids per command"),
  repoPath: absolutePath,
  composeDir: repoRelativePath.default("infra"),
  fileOwner: z.string().regex(/^[a-z_][a-z0-9_-]*(:[a-z_][a-z0-9_-]*)?$/, "must be user or user:group").default("ubuntu:ubuntu"),
  executionTimeoutSeconds: z.number().int().min(30).max(172800).default(600),
  // How hosts fetch the bundle: the AWS CLI, or curl on a short-lived pre-signed URL (hosts without the CLI).
  download: z.enum(["aws-cli", "presigned-url"]).default("aws-cli"),
  /** SSM's TimeoutSeconds: how long an offline host may take to pick the command up (AWS default 600; short, so waits end). */
  deliveryTimeoutSeconds: z.number().int().min(30).max(2592000).default(120),
  /** A bundle with the same content already in the bucket is reused instead of uploaded again. */
  reuseBundles: z.boolean().default(true),
  output: z
    .object({
      cloudWatchLogGroup: z
        .string()
        .regex(/^[A-Za-z0-9_.\/#-]{1,512}$/, "must be a CloudWatch log group name")
        .refine((g) => !g.split("/").includes(".."), "must not contain .. segments")
        .optional(),
      s3Bucket: bucketName.optional(),
      s3Prefix: keyPrefix.optional(),
    })
    .default({}),
  albUrl: z.url().optional(),
  /** Where probe paths are resolved (the site's public URL); defaults to albUrl. */
  baseUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** ELBv2 target group of the hosts, for target health per host. */
  targetGroupArn: targetGroupArn.optional(),
  /** Smoke checks run after every deploy and on demand (probes or presets). */
  checks: checksSchema,
  /** Named runbook commands, run on one host or all through SSM. */
  actions: actionsSchema,
});

export const serviceSchema = z.object({
  paths: z.array(repoRelativePath).min(1),
  replace: z.array(repoRelativePath).default([]),
  build: z.object({ command: z.string().min(1), dir: repoRelativePath.optional() }).optional(),
  compose: z.array(composeName).default([]),
  /** Static files served as they are (a built UI): the "UI-only" deploy shape. Default: true when the service replaces a directory whole. */
  static: z.boolean().optional(),
});

export const configSchema = z
  .object({
    repo: z.string().min(1),
    bundleNamePrefix: z.string().regex(/^[A-Za-z0-9_-]{0,32}$/, "must be letters, digits, _ or -").default("acp_"),
    environments: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "environment names are lowercase").refine(notReserved, "is a reserved name"), environmentSchema)
      .refine((envs) => Object.keys(envs).length > 0, "needs at least one environment"),
    services: z.record(serviceName, serviceSchema).refine((s) => Object.keys(s).length > 0, "needs at least one service"),
  })
  .superRefine((config, ctx) => {
    for (const [envName, env] of Object.entries(config.environments)) {
      if (env.profile === "systemd" && !env.systemd) {
        ctx.addIssue({ code: "custom", path: ["environments", envName, "systemd"], message: 'profile "systemd" needs a systemd block (unit, serviceDir, image)' });
      }
      const relative = env.checks.findIndex((probe) => probe.path !== undefined);
      if (relative >= 0 && !env.baseUrl && !env.albUrl) {
        ctx.addIssue({ code: "custom", path: ["environments", envName, "baseUrl"], message: `check "${env.checks[relative]!.name}" uses a path, so baseUrl (or albUrl) is needed` });
      }
      for (const [actionName, action] of Object.entries(env.actions)) {
        action.offerWhenFailing.forEach((check, i) => {
          if (!env.checks.some((probe) => probe.name === check)) {
            ctx.addIssue({ code: "custom", path: ["environments", envName, "actions", actionName, "offerWhenFailing", i], message: `no check is named "${check}"` });
          }
        });
      }
    }
    for (const [name, service] of Object.entries(config.services)) {
      service.replace.forEach((replaced, i) => {
        if (!service.paths.some((p) => replaced === p || replaced.startsWith(p + "/"))) {
          ctx.addIssue({ code: "custom", path: ["services", name, "replace", i], message: `"${replaced}" is not inside one of this service's paths` });
        }
      });
    }
  });

export type DeckhandConfig = z.infer<typeof configSchema>;
export type EnvironmentConfig = z.infer<typeof environmentSchema>;
export type ServiceConfig = z.infer<typeof serviceSchema>;
export type SystemdConfig = z.infer<typeof systemdSchema>;
export type HostConfig = z.infer<typeof hostSchema>;
export type { ActionConfig, Expectation, ProbeConfig } from "./checks-schema";
