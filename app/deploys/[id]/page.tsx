import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { DeployViewPage } from "@/components/deploy-view";
import { loadDeployHeadline } from "@/lib/server/queries";

export const dynamic = "force-dynamic";

const kindTitle: Record<string, string> = { deploy: "Deploy", rollback: "Rollback", redeploy: "Redeploy" };

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }): Promise<Metadata> {
  const headline = await loadDeployHeadline((await params).id);
  if (!headline) return { title: "Deploy not found" };
  return { title: `${kindTitle[headline.kind] ?? headline.kind} of ${headline.services.join(", ")} to ${headline.environment}` };
}

export default async function DeployPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  // A missing id is known at once: not-found, not a spinner.
  if (!(await loadDeployHeadline(id))) notFound();
  return <DeployViewPage id={id} />;
}
