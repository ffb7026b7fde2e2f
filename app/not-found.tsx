import type { Metadata } from "next";
import Link from "next/link";

export const metadata: Metadata = { title: "Not found" };

export default function NotFound() {
  return (
    <div className="space-y-3" data-testid="not-found">
      <h1 className="text-2xl font-semibold">Not found</h1>
      <p className="text-slate-700">Deckhand has no page here, or no record of what you asked for (a deploy id, for example).</p>
      <p className="flex flex-wrap gap-4 text-sm">
        <Link href="/" className="text-sky-800 underline">
          Dashboard
        </Link>
        <Link href="/history" className="text-sky-800 underline">
          Deploy history
        </Link>
        <Link href="/bundles" className="text-sky-800 underline">
          Bundles
        </Link>
      </p>
    </div>
  );
}
