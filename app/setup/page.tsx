import type { Metadata } from "next";
import { SetupCheck } from "@/components/setup-check";
import { loadOverview } from "@/lib/server/queries";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Setup check" };

export default async function SetupPage() {
  const overview = await loadOverview();
  return (
    <div className="space-y-4">
      <h1 className="text-2xl font-semibold">Setup check</h1>
      <p className="text-sm text-slate-800">
        Tries, with harmless calls, everything Deckhand needs: this laptop&apos;s AWS identity and permissions, the bucket and its lifecycle rule, the log
        group, and on every host (one SSM command) the pre-flight of the host script. Each red line says how to fix it; see README › Hosts and IAM.
      </p>
      <SetupCheck environments={overview.environments.map((e) => e.name)} />
    </div>
  );
}
