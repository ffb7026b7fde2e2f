"use client";

import Link from "next/link";

/** A page that threw: say so plainly, offer to try again, never a blank screen. */
export default function ErrorPage({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <div role="alert" className="space-y-3 rounded-lg border border-red-300 bg-red-50 p-4 text-red-900">
      <h1 className="text-xl font-semibold">This page could not be shown</h1>
      <p className="font-mono text-sm break-words whitespace-pre-wrap">{error.message || "An unexpected error occurred."}</p>
      {error.digest && <p className="text-xs">Reference {error.digest} (the server log has the details).</p>}
      <div className="flex flex-wrap gap-3">
        <button type="button" onClick={reset} className="rounded-md bg-sky-700 px-3 py-1.5 text-sm font-semibold text-white hover:bg-sky-800">
          Try again
        </button>
        <Link href="/" className="rounded-md border border-red-300 px-3 py-1.5 text-sm font-medium underline">
          Back to the dashboard
        </Link>
      </div>
    </div>
  );
}
