"use client";

import { useState, useTransition } from "react";
import { runSetupCheckAction } from "@/app/actions";
import { withToken } from "./panel-token";

type Line = { name: string; ok: boolean; detail: string; fix: string };

/** Runs the setup check on demand and shows each line green or red, in words, with its fix. */
export function SetupCheck({ environments }: { environments: string[] }) {
  const [environment, setEnvironment] = useState(environments[0] ?? "");
  const [result, setResult] = useState<{ laptop: Line[]; hosts: Line[]; ok: boolean } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pending, startTransition] = useTransition();
  const run = () =>
    startTransition(async () => {
      setError(null);
      const answer = await runSetupCheckAction(withToken({ environment }));
      if (answer.ok) setResult(answer.data);
      else setError(answer.error);
    });
  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center gap-3">
        <label className="flex items-center gap-2 text-sm">
          Environment
          <select value={environment} onChange={(e) => setEnvironment(e.target.value)} className="rounded-md border border-slate-400 bg-white px-2 py-1">
            {environments.map((name) => (
              <option key={name}>{name}</option>
            ))}
          </select>
        </label>
        <button type="button" onClick={run} disabled={pending || !environment} className="rounded-md bg-sky-700 px-4 py-2 text-sm font-semibold text-white hover:bg-sky-800 disabled:bg-slate-400">
          {pending ? "Checking…" : `Run the setup check for ${environment}`}
        </button>
      </div>
      {error && (
        <p role="alert" className="rounded bg-red-50 p-2 text-sm text-red-900">
          {error}
        </p>
      )}
      <div aria-live="polite">
        {result && (
          <div className="space-y-3" data-testid="setup-result">
            <p className="font-medium" data-testid="setup-verdict">
              {result.ok ? "✓ Everything Deckhand needs is in place." : "✗ Some things need fixing before a deploy can work."}
            </p>
            {[
              ["This laptop", result.laptop],
              ["The hosts", result.hosts],
            ].map(([title, lines]) => (
              <section key={title as string} className="rounded-lg bg-white p-3 shadow-sm ring-1 ring-slate-200">
                <h2 className="mb-1 font-semibold">{title as string}</h2>
                <ul className="space-y-1 text-sm">
                  {(lines as Line[]).map((line) => (
                    <li key={line.name} className="break-words" data-testid="setup-line">
                      <span className={line.ok ? "font-semibold text-emerald-800" : "font-semibold text-red-800"}>{line.ok ? "✓ ok" : "✗ fix"}</span> {line.name} — {line.detail}
                      {!line.ok && line.fix && <span className="block pl-6 text-slate-800">Fix: {line.fix}</span>}
                    </li>
                  ))}
                </ul>
              </section>
            ))}
          </div>
        )}
      </div>
    </div>
  );
}
