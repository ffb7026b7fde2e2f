import type { Metadata } from "next";
import { DeployList, HistoryFilters, HistoryPager } from "@/components/deploy-list";
import { loadHistoryPage } from "@/lib/server/queries";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "History" };

// Filters live in the URL (a filtered page can be linked); pages are keyset cursors, 50 deploys each.
export default async function HistoryPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const view = await loadHistoryPage(await searchParams);
  return (
    <div className="space-y-4">
      <h1 className="text-2xl font-semibold">Deploy history</h1>
      <HistoryFilters filters={view.filters} options={view.options} />
      {view.error ? (
        <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-900 ring-1 ring-red-200" data-testid="history-error">
          {view.error}
        </p>
      ) : (
        <>
          <DeployList deploys={view.deploys} matches={view.matches} filtered={Object.keys(view.filters).length > 0} />
          <HistoryPager filters={{ ...view.filters, ...view.pager }} next={view.next} previous={view.previous} />
        </>
      )}
    </div>
  );
}
