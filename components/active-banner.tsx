"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useRef } from "react";
import type { ActiveDeployView } from "@/lib/deploy/views";
import { fetchJson } from "./fetch-json";
import { statusLabel } from "./status-badge";
import { Elapsed } from "./time";

const kindWord: Record<string, string> = { deploy: "Deploy", rollback: "Rollback", redeploy: "Redeploy" };

/** A deploy that is still going, on every page, with a link to it. */
export function ActiveDeployBanner() {
  const pathname = usePathname();
  const active = useQuery({ queryKey: ["active-deploys"], queryFn: () => fetchJson<ActiveDeployView[]>("/api/active"), refetchInterval: 2000 });
  const deploys = active.data ?? [];
  // "No deploy running" is news only after one was running.
  const seenOne = useRef(false);
  if (deploys.length) seenOne.current = true;
  return (
    <div>
      {/* Always rendered, without the ticking clock, so screen readers hear a deploy start, change and end. */}
      <p className="sr-only" aria-live="polite" data-testid="active-announcer">
        {deploys.length === 0 ? (seenOne.current ? "No deploy running any more." : "") : deploys.map((d) => `${kindWord[d.kind] ?? d.kind} of ${d.services.join(", ")} to ${d.environment}: ${statusLabel(d.status)}.`).join(" ")}
      </p>
      {deploys.length > 0 && (
        <div className="border-b border-sky-300 bg-sky-100 text-sky-950" data-testid="active-banner">
          <ul className="mx-auto max-w-7xl space-y-1 px-4 py-2 text-sm sm:px-6">
            {deploys.map((deploy) => (
              <li key={deploy.id} className="flex flex-wrap items-center gap-x-2">
                <span aria-hidden="true">⏵</span>
                <span>
                  {kindWord[deploy.kind] ?? deploy.kind} of <strong>{deploy.services.join(", ")}</strong> to {deploy.environment}: {statusLabel(deploy.status)} for <Elapsed from={deploy.createdAt} to={null} />
                </span>
                {pathname !== `/deploys/${deploy.id}` && (
                  <Link href={`/deploys/${deploy.id}`} className="font-semibold text-sky-900 underline">
                    Watch the {(kindWord[deploy.kind] ?? deploy.kind).toLowerCase()} of {deploy.services.join(", ")}
                  </Link>
                )}
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
