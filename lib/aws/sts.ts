import { GetCallerIdentityCommand, type STSClient } from "@aws-sdk/client-sts";

const cache = new WeakMap<STSClient, Promise<string>>();

/**
 * The AWS identity this laptop acts as (GetCallerIdentity's ARN), asked once per client: it names
 * the owner of a bucket lock, so another laptop sees who holds the environment.
 */
export function callerArn(sts: STSClient): Promise<string> {
  let found = cache.get(sts);
  if (!found) {
    found = sts.send(new GetCallerIdentityCommand({})).then((answer) => {
      if (!answer.Arn) throw new Error("STS GetCallerIdentity answered without an ARN");
      return answer.Arn;
    });
    found.catch(() => cache.delete(sts)); // a failure is not remembered: the next lock asks again
    cache.set(sts, found);
  }
  return found;
}
