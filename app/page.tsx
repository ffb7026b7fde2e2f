import type { Metadata } from "next";
import { Dashboard } from "@/components/dashboard";

// The template in the root layout applies to child segments only, so this page names itself in full.
export const metadata: Metadata = { title: { absolute: "Dashboard · Deckhand" } };

export default function HomePage() {
  return <Dashboard />;
}
