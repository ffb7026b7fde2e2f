import type { Db } from "./db";

/** Live chunks per host run the deploy page loads at first; older ones come a page at a time. */
export const OUTPUT_PAGE = 2_000;
/** The most one request may ask for. */
export const OUTPUT_PAGE_MAX = 10_000;

export interface ChunkRow {
  id: number;
  hostRunId: string;
  stream: string;
  text: string;
  at: Date;
}

const CHUNK_SELECT = { id: true, hostRunId: true, stream: true, text: true, at: true } as const;

/**
 * A deploy with its events and host runs, each host run with only its newest `liveLimit` output
 * chunks (oldest first) and how many older ones there are: what the deploy page needs first,
 * bounded whatever the deploy printed.
 */
export async function getDeployDetailPaged(db: Db, id: string, liveLimit = OUTPUT_PAGE) {
  const deploy = await db.deploy.findUnique({
    where: { id },
    include: {
      hostRuns: {
        orderBy: [{ attempt: "asc" }, { hostName: "asc" }],
        include: { _count: { select: { chunks: true } }, chunks: { orderBy: { id: "desc" }, take: liveLimit } },
      },
      events: { orderBy: { id: "asc" } },
    },
  });
  if (!deploy) return null;
  return {
    ...deploy,
    hostRuns: deploy.hostRuns.map(({ _count, chunks, ...run }) => ({ ...run, chunks: chunks.reverse(), liveOlder: _count.chunks - chunks.length })),
  };
}

/**
 * One page of a deploy's host run's output chunks before chunk id `before` (or the newest), oldest
 * first, and whether older ones remain; null when the deploy has no such host run (a page never reads
 * another deploy's output). Uses the (hostRunId, id) index: cost is the page, not the run.
 */
export async function outputPageBefore(db: Db, deployId: string, hostRunId: string, before: number | null, limit: number): Promise<{ chunks: ChunkRow[]; hasOlder: boolean } | null> {
  const run = await db.hostRun.findFirst({ where: { id: hostRunId, deployId }, select: { id: true } });
  if (!run) return null;
  const take = Math.max(1, Math.min(limit, OUTPUT_PAGE_MAX));
  const rows = await db.outputChunk.findMany({
    where: { hostRunId, ...(before !== null ? { id: { lt: before } } : {}) },
    orderBy: { id: "desc" },
    take: take + 1,
    select: CHUNK_SELECT,
  });
  const hasOlder = rows.length > take;
  return { chunks: rows.slice(0, take).reverse(), hasOlder };
}

/**
 * The output chunks of these host runs after chunk id `after`, in id order, at most `limit` in all:
 * one indexed query per host run, cut where the first host run with more to give stopped, so no
 * chunk is ever skipped by the cursor (ids are global, host runs interleave).
 */
export async function outputAfter(db: Db, hostRunIds: string[], after: number, limit: number): Promise<{ chunks: ChunkRow[]; more: boolean }> {
  if (hostRunIds.length === 0) return { chunks: [], more: false };
  const each = Math.max(1, Math.ceil(limit / hostRunIds.length));
  const pages = await Promise.all(
    hostRunIds.map((hostRunId) => db.outputChunk.findMany({ where: { hostRunId, id: { gt: after } }, orderBy: { id: "asc" }, take: each, select: CHUNK_SELECT })),
  );
  // A host run that filled its page may have more just after its last row: nothing past that is safe yet.
  let cutoff = Infinity;
  for (const page of pages) if (page.length === each) cutoff = Math.min(cutoff, page[page.length - 1].id);
  const chunks = pages
    .flat()
    .filter((c) => c.id <= cutoff)
    .sort((a, b) => a.id - b.id);
  return { chunks, more: cutoff !== Infinity };
}
