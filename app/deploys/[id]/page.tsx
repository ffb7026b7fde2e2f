import { DeployViewPage } from "@/components/deploy-view";

export default async function DeployPage({ params }: { params: Promise<{ id: string }> }) {
  return <DeployViewPage id={(await params).id} />;
}
