import type { Metadata } from "next";
import { BundlesBrowser } from "@/components/bundles-table";

export const metadata: Metadata = { title: "Bundles" };

export default function BundlesPage() {
  return <BundlesBrowser />;
}
