import type { Db } from "../history/db";
import { ACTIVE_DEPLOY_STATUSES } from "./status";
import type { ActiveDeployView } from "./views";

/** Deploys not yet finished, newest first: the banner on every page and the disabled Deploy button. */
export async function activeDeploys(db: Db): Promise<ActiveDeployView[]> {
  const rows = await db.deploy.findMany({
    where: { status: { in: ACTIVE_DEPLOY_STATUSES as string[] } },
    orderBy: { createdAt: "desc" },
    take: 20,
    select: { id: true, environment: true, kind: true, services: true, status: true, createdAt: true },
  });
  return rows.map((row) => ({ ...row, services: JSON.parse(row.services) as string[], createdAt: row.createdAt.toISOString() }));
}

/** The few words a page title needs, without loading output. */
export async function deployHeadline(db: Db, id: string) {
  return db.deploy.findUnique({ where: { id }, select: { kind: true, services: true, environment: true, status: true } });
}
