import { STSClient } from "@aws-sdk/client-sts";
import type { EnvironmentConfig } from "../config/schema";
import { checkHosts, type HostCheckOptions } from "./hosts";
import { checkLaptop } from "./laptop";
import type { CheckLine, SetupClients } from "./types";

export type { CheckLine, SetupClients } from "./types";
export { checkHosts } from "./hosts";
export { checkLaptop } from "./laptop";

/** STS through the SDK's default chain, like the other clients (AWS_ENDPOINT_URL_STS reaches the sandbox). */
export function makeStsClient(region: string): STSClient {
  return new STSClient({ region });
}

/** The whole setup check for one environment: laptop lines first, then one line per host. */
export async function runSetupCheck(clients: SetupClients, environment: EnvironmentConfig, options: HostCheckOptions = {}): Promise<{ laptop: CheckLine[]; hosts: CheckLine[]; ok: boolean }> {
  const laptop = await checkLaptop(clients, environment);
  const hosts = await checkHosts(clients.ssm, environment, options);
  return { laptop, hosts, ok: [...laptop, ...hosts].every((l) => l.ok) };
}
