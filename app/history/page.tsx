import type { Metadata } from "next";
import { DeployList } from "@/components/deploy-list";
import { loadHistory } from "@/lib/server/queries";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "History" };

export default async function HistoryPage() {
  const deploys = await loadHistory();
  return (
    <div className="space-y-4">
      <h1 className="text-2xl font-semibold">Deploy history</h1>
      <DeployList deploys={deploys} />
    </div>
  );
}
