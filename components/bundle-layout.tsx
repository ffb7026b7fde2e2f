// A bundle row's layout and version (issue 12): how its members map onto the repo, read from its key.
import type { BundleRowView } from "@/lib/deploy/views";

const LAYOUT_TEXT: Record<BundleRowView["layout"], string | null> = {
  repo: null, // the usual case needs no badge
  static: "static files (tar -C dist .)",
  systemd: "systemd bundle",
  unknown: "unknown layout",
};

export function BundleLayoutBadges({ layout, version }: { layout: BundleRowView["layout"]; version: string | null }) {
  const text = LAYOUT_TEXT[layout];
  return (
    <>
      {version && (
        <span className="ml-1 rounded bg-sky-100 px-1.5 py-0.5 font-sans text-xs text-sky-800" data-testid="bundle-version">
          v{version}
        </span>
      )}
      {text && (
        <span
          className={`ml-1 rounded px-1.5 py-0.5 font-sans text-xs ${layout === "unknown" ? "bg-amber-100 text-amber-900" : "bg-slate-100 text-slate-700"}`}
          data-testid="bundle-layout"
          title={layout === "unknown" ? "Its name fits no layout the runbooks use: choose one when deploying it" : undefined}
        >
          {text}
        </span>
      )}
    </>
  );
}
