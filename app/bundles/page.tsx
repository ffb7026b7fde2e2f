import { BundlesBrowser } from "@/components/bundles-table";

export const metadata = { title: "Bundles · Deckhand" };

export default function BundlesPage() {
  return <BundlesBrowser />;
}
