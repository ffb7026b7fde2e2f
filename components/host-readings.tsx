"use client";

import { useState, useTransition } from "react";
import { readHostsAction } from "@/app/actions";
import { bundleFileName } from "./format";
import { withToken } from "./panel-token";

type Reading = { instanceId: string; name: string; problem: string | null; services: { service: string; bundleKey: string | null; text: string }[] };

/** "Read from hosts": the live matrix from the hosts' own files (one SSM command), history as the fallback. */
export function HostReadings({ environment, services }: { environment: string; services: string[] }) {
  const [readings, setReadings] = useState<Reading[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pending, startTransition] = useTransition();
  const read = () =>
    startTransition(async () => {
      setError(null);
      const result = await readHostsAction(withToken({ environment }));
      if (result.ok) setReadings(result.data);
      else setError(result.error);
    });
  return (
    <div className="mt-3 space-y-2 text-sm">
      <button type="button" onClick={read} disabled={pending} className="rounded-md border border-slate-400 px-3 py-1.5 font-semibold hover:bg-slate-50 disabled:opacity-50">
        {pending ? "Reading the hosts…" : `Read from hosts of ${environment}`}
      </button>
      {error && (
        <p role="alert" className="text-red-800">
          {error}
        </p>
      )}
      <div aria-live="polite">
        {readings && (
          <table className="cards w-full" data-testid="host-readings">
            <caption className="text-left font-medium">What each host really has (read from its files)</caption>
            <thead className="text-left text-slate-700">
              <tr>
                <th className="px-2 py-1">Host</th>
                {services.map((s) => (
                  <th key={s} className="px-2 py-1">
                    {s}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {readings.map((host) => (
                <tr key={host.instanceId} className="border-t border-slate-100">
                  <td data-label="Host" className="px-2 py-1 font-medium">
                    {host.name}
                  </td>
                  {services.map((s) => {
                    const cell = host.services.find((c) => c.service === s);
                    return (
                      <td key={s} data-label={s} className="px-2 py-1 font-mono text-xs break-all" data-testid={`reading-${host.instanceId}-${s}`}>
                        {cell?.bundleKey ? bundleFileName(cell.bundleKey) : ""} {cell && (!cell.bundleKey || host.problem) ? <span className="font-sans text-slate-800">{cell.text}</span> : null}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </div>
  );
}
