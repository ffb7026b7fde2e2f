import { DescribeTargetHealthCommand, type ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";

export interface TargetHealth {
  /** The target's id: an instance id for instance targets. */
  instanceId: string;
  port: number | null;
  /** AWS's state: initial, healthy, unhealthy, unused, draining, unavailable, unhealthy.draining. */
  state: string;
  /** e.g. Target.FailedHealthChecks, Target.Timeout, Target.DeregistrationInProgress. */
  reason: string | null;
  description: string | null;
}

/** ALB target health per host (`aws elbv2 describe-target-health`, as seeds/003 checks it). */
export async function targetHealth(elb: ElasticLoadBalancingV2Client, targetGroupArn: string): Promise<TargetHealth[]> {
  const out = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }));
  return (out.TargetHealthDescriptions ?? []).map((d) => ({
    instanceId: d.Target?.Id ?? "",
    port: d.Target?.Port ?? null,
    state: d.TargetHealth?.State ?? "unavailable",
    reason: d.TargetHealth?.Reason ?? null,
    description: d.TargetHealth?.Description ?? null,
  }));
}
