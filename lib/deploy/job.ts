import type { EnvironmentConfig } from "../config/schema";
import type { BucketLock } from "../lock/bucket-lock";
import { changeStatus, type StatusChange } from "../history/deploys";
import type { DeployContext } from "./context";
import type { DeployPlan } from "./plan";
import type { DeployStatus } from "./status";

export interface Host {
  instanceId: string;
  name: string;
}

/** What a phase may answer: nothing (go on), an end for the deploy, or a pause for the operator. */
export type PhaseOutcome = void | { end: DeployStatus; message: string; error?: string } | { pause: DeployStatus; message: string };

/** One step of a deploy. A phase that has a status moves the deploy there before it runs. */
export interface Phase {
  name: "build" | "upload" | "script" | "review" | "send" | "watch" | "verify";
  status?: DeployStatus;
  /** The "state" event recorded when the phase moves the deploy into its status. */
  describe?(job: Job): string;
  run(ctx: DeployContext, job: Job): Promise<PhaseOutcome>;
}

/**
 * One run of the engine over one deploy: which phases, on which hosts, as which attempt. A deploy,
 * a rollback, a redeploy, a confirm and a retry differ only in the Job they are given.
 */
export interface Job {
  deployId: string;
  environmentName: string;
  environment: EnvironmentConfig;
  /** The status this job last put (or found) the deploy in: every change is a compare-and-set from it. */
  status: DeployStatus;
  phases: Phase[];
  hosts: Host[];
  attempt: number;
  /** Services, paths and builds, for the phases that make a bundle. */
  plan?: DeployPlan;
  /** Send to the online hosts only, instead of refusing when one is offline. */
  skipOfflineHosts?: boolean;
  /** Work that runs after the deploy's status is final (removing a checkout), awaited by the job. */
  afterEnd?: (() => Promise<void>)[];
  /** Work already under way that must finish before the deploy's status is final (late live output). */
  beforeEnd?: Promise<void>[];
  /** The environment's bucket lock while this job runs (released when it ends or pauses). */
  lock?: BucketLock;
}

/** Moves the job's deploy from the status it knows to `to`; refused if anyone else moved it meanwhile. */
export async function moveJob(ctx: DeployContext, job: Job, to: DeployStatus, message: string, data?: StatusChange["data"]): Promise<void> {
  job.status = await changeStatus(ctx.db, job.deployId, { from: job.status, to, message, data });
}
