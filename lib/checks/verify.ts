// The deploy engine's `verify` phase in one call: smoke checks, what each host really has, ALB target health.
import type { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { SSMClient } from "@aws-sdk/client-ssm";
import { targetHealth, type TargetHealth } from "../aws/elb";
import { deployedFilesRoot } from "../config/load";
import type { EnvironmentConfig, ServiceConfig } from "../config/schema";
import { decideHost, describeVerdict, type CandidateBundle, type HostVerdict } from "./host-truth";
import { readHosts } from "./read-hosts";
import { indexJsOf, runChecks, type CheckResult } from "./run";

export interface VerifyInput {
  environment: EnvironmentConfig;
  services: Record<string, ServiceConfig>;
  ssm: SSMClient;
  /** Only when the environment names a targetGroupArn. */
  elb?: ElasticLoadBalancingV2Client | null;
  /** The bundle just deployed, and the services it was deployed for. */
  deployed: { bundle: CandidateBundle; services: string[] } | null;
  /** Known bundles newest first (the deployed one included), for naming what a stale host has. */
  candidates: CandidateBundle[];
  env?: Record<string, string | undefined>;
  onCheck?: (result: CheckResult) => void;
  signal?: AbortSignal;
}

export interface HostTruthResult extends HostVerdict {
  instanceId: string;
  name: string;
  /** Why the host could not be read (history stays the fallback), or null. */
  problem: string | null;
  /** Plain sentences, e.g. "ui: still acp_ui_1.tar.gz, not acp_ui_2.tar.gz". */
  summary: string[];
}

export interface VerifyResult {
  /** Checks green, and every host has the deployed bundle for the deployed services. */
  ok: boolean;
  checks: CheckResult[];
  hosts: HostTruthResult[];
  /** Hosts that do not have the deployed bundle for a deployed service. */
  wrongHosts: { instanceId: string; name: string; services: string[] }[];
  /** Hosts whose files could not be read: not known to be right, so the deploy is not verified. */
  unverifiedHosts: { instanceId: string; name: string; problem: string }[];
  targets: TargetHealth[] | null;
  targetsProblem: string | null;
}

export async function verifyDeploy(input: VerifyInput): Promise<VerifyResult> {
  const { environment } = input;
  const byService = Object.fromEntries((input.deployed?.services ?? []).map((s) => [s, input.deployed!.bundle.key]));
  const expectedIndexJs = input.deployed ? indexJsOf(input.deployed.bundle.manifest) : null;
  const checks = await runChecks(environment, { bundleManifest: input.deployed?.bundle.manifest, env: input.env, onResult: input.onCheck, signal: input.signal });

  const services = Object.entries(input.services).map(([name, s]) => ({ name, paths: s.paths }));
  const read = await readHosts(input.ssm, { instanceIds: environment.hosts.map((h) => h.instanceId), repoPath: deployedFilesRoot(environment), paths: services.flatMap((s) => s.paths) });
  const hosts = environment.hosts.map((h): HostTruthResult => {
    const reading = read.readings[h.instanceId]!;
    const verdict = decideHost(reading, services, input.candidates, { byService, indexJs: expectedIndexJs });
    return { instanceId: h.instanceId, name: h.name, problem: reading.ok ? null : reading.problem, summary: verdict.services.map(describeVerdict), ...verdict };
  });
  const wrongHosts = hosts
    .map((h) => ({
      instanceId: h.instanceId,
      name: h.name,
      services: h.services.filter((v) => v.service in byService && v.state !== "matches" && v.state !== "unreadable").map((v) => v.service),
    }))
    .filter((h) => h.services.length > 0);
  const unverifiedHosts = input.deployed
    ? hosts.filter((h) => h.services.some((v) => v.service in byService && v.state === "unreadable")).map((h) => ({ instanceId: h.instanceId, name: h.name, problem: h.problem ?? "could not be read" }))
    : [];

  let targets: TargetHealth[] | null = null;
  let targetsProblem: string | null = null;
  if (environment.targetGroupArn && input.elb) {
    try {
      targets = await targetHealth(input.elb, environment.targetGroupArn);
    } catch (error) {
      targetsProblem = `${(error as Error).name}: ${(error as Error).message}`;
    }
  }
  return { ok: checks.every((c) => c.ok) && wrongHosts.length === 0 && unverifiedHosts.length === 0, checks, hosts, wrongHosts, unverifiedHosts, targets, targetsProblem };
}
