"use client";

import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import { previewRedeployAction, startRedeployAction } from "@/app/actions";
import { withToken } from "./panel-token";
import { Dialog } from "./dialog";
import { ConfirmEnvironmentField, environmentConfirmed, ProductionBadge } from "./environment-picker";
import { FileDiff } from "./file-diff";
import { bundleFileName, formatDuration } from "./format";

type PreviewResult = Awaited<ReturnType<typeof previewRedeployAction>>;
type RedeployPreview = Extract<PreviewResult, { ok: true }>["data"];
export type RedeployKind = "rollback" | "redeploy";

export interface RedeployTarget {
  environment: string;
  bundleKey: string;
  kind: RedeployKind;
  /** Services ticked when the dialog opens. */
  initialServices: string[];
  /** Services the operator may tick. One fixed service (a rollback) shows no checkboxes. */
  choices: string[];
  /** A redeploy to a newer bundle than the one live (after a rollback) is a roll forward. */
  forward?: boolean;
  /** A production environment: the operator types its name before starting. */
  production?: boolean;
  /** The bundle's key fits no known layout: the operator chooses how its members map onto the repo. */
  needsLayout?: boolean;
}

/**
 * The one confirmation step before an existing bundle goes back onto the hosts: it shows the
 * server's preview (checks, from → to, file diff, exact script) and only then offers to start.
 */
export function RedeployDialog({ target, onClose }: { target: RedeployTarget; onClose: () => void }) {
  const router = useRouter();
  const [chosen, setChosen] = useState<string[]>(target.initialServices);
  const [startError, setStartError] = useState<string | null>(null);
  const [starting, startTransition] = useTransition();
  const [layout, setLayout] = useState<"repo" | "static" | "">("");
  const [typedName, setTypedName] = useState("");
  const environment = { name: target.environment, production: Boolean(target.production) };
  const request = { environment: target.environment, bundleKey: target.bundleKey, kind: target.kind, services: [...chosen].sort(), ...(layout ? { layout } : {}) };

  const preview = useQuery({
    queryKey: ["redeploy-preview", request],
    queryFn: () => previewRedeployAction(withToken(request)),
    enabled: chosen.length > 0 && (!target.needsLayout || layout !== ""),
    // A preview is a snapshot of "what would happen now": never reuse an old one.
    gcTime: 0,
    staleTime: 0,
    retry: false,
    refetchOnWindowFocus: false,
  });

  const toggle = (name: string) => setChosen((current) => (current.includes(name) ? current.filter((n) => n !== name) : [...current, name]));
  const confirm = () =>
    startTransition(async () => {
      setStartError(null);
      if (!ready) return;
      // The preview's fingerprint goes back with the request: the server refuses if the plan changed.
      const result = await startRedeployAction(withToken({ ...request, planSha256: ready.planSha256, ...(environment.production ? { confirmEnvironment: typedName } : {}) }));
      if (result.ok) router.push(`/deploys/${result.data.deployId}`);
      else setStartError(result.error);
    });

  const verb = target.kind === "rollback" ? "Roll back" : target.forward ? "Roll forward" : "Deploy";
  const what = chosen.length ? `${[...chosen].sort().join(", ")} in ` : "";
  const ready = preview.data?.ok ? preview.data.data : null;

  return (
    <Dialog
      testId="redeploy-dialog"
      wide
      busy={starting}
      onClose={onClose}
      title={
        <>
          {verb} {what}
          {target.environment} to <span className="font-mono text-base break-all">{bundleFileName(target.bundleKey)}</span> <ProductionBadge production={environment.production} />
        </>
      }
    >
        <p className="font-mono text-xs break-all text-slate-600" title={target.bundleKey}>
          {target.bundleKey}
        </p>

        {target.choices.length > 1 || target.initialServices.length === 0 ? (
          <fieldset className="flex flex-wrap gap-2">
            <legend className="mb-1 w-full text-sm text-slate-700">Services to deploy from this bundle (it carries {target.choices.join(", ")})</legend>
            {target.choices.map((name) => (
              <label key={name} className={`flex cursor-pointer items-center gap-2 rounded-md border px-3 py-1.5 text-sm ${chosen.includes(name) ? "border-sky-500 bg-sky-50" : "border-slate-200"}`}>
                <input type="checkbox" checked={chosen.includes(name)} onChange={() => toggle(name)} disabled={starting} />
                <span className="font-medium">{name}</span>
              </label>
            ))}
          </fieldset>
        ) : null}

        {target.needsLayout && (
          <label className="flex flex-wrap items-center gap-2 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900">
            This bundle&apos;s name fits no known layout. Its members are
            <select value={layout} onChange={(e) => setLayout(e.target.value as "repo" | "static" | "")} disabled={starting} data-testid="redeploy-layout" className="rounded-md border border-amber-300 bg-white px-2 py-1">
              <option value="">— choose —</option>
              <option value="repo">repo-relative paths (tar czf … services/audit/)</option>
              <option value="static">relative to the static service&apos;s directory (tar czf … -C dist .)</option>
            </select>
          </label>
        )}

        {chosen.length === 0 ? (
          <p className="text-sm text-slate-600">Pick at least one service to see what would change.</p>
        ) : target.needsLayout && !layout ? (
          <p className="text-sm text-slate-600">Choose the bundle&apos;s layout to see what would change.</p>
        ) : preview.isPending ? (
          <p className="text-sm text-slate-600" data-testid="redeploy-loading">
            Checking the bundle and working out what would change…
          </p>
        ) : preview.isError ? (
          <RefusalAlert message={preview.error.message} />
        ) : !preview.data.ok ? (
          <RefusalAlert message={preview.data.error} />
        ) : (
          <PreviewBody preview={preview.data.data} />
        )}

        {ready && !preview.isFetching && <ConfirmEnvironmentField environment={environment} value={typedName} onChange={setTypedName} disabled={starting} />}

        {startError && <RefusalAlert message={startError} />}

        <div className="flex flex-wrap items-center justify-end gap-2 border-t border-slate-100 pt-4">
          <button type="button" onClick={onClose} disabled={starting} className="rounded-md border border-slate-300 px-4 py-2 text-sm font-medium text-slate-700 hover:bg-slate-50 disabled:opacity-50">
            Cancel
          </button>
          {ready && !preview.isFetching && (
            <button
              type="button"
              onClick={confirm}
              disabled={starting || !environmentConfirmed(environment, typedName)}
              data-testid="redeploy-confirm"
              className="rounded-md bg-sky-700 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-sky-800 disabled:cursor-not-allowed disabled:bg-slate-300"
            >
              {starting ? "Starting…" : target.kind === "rollback" ? "Confirm rollback" : target.forward ? "Confirm roll forward" : "Confirm deploy"}
            </button>
          )}
        </div>
    </Dialog>
  );
}

function RefusalAlert({ message }: { message: string }) {
  return (
    <div role="alert" className="rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-900" data-testid="redeploy-refusal">
      <p className="font-semibold">Deckhand will not do this</p>
      <p className="mt-1 whitespace-pre-wrap">{message}</p>
    </div>
  );
}

function PreviewBody({ preview }: { preview: RedeployPreview }) {
  return (
    <div className="space-y-4" data-testid="redeploy-preview">
      <dl className="grid grid-cols-[max-content_minmax(0,1fr)] gap-x-4 gap-y-1 text-sm">
        <dt className="text-slate-600">Kind</dt>
        <dd data-testid="redeploy-kind">{preview.kind}</dd>
        <dt className="text-slate-600">Services</dt>
        <dd>{preview.services.join(", ")}</dd>
        <dt className="text-slate-600">Hosts</dt>
        <dd>{preview.hosts.map((h) => h.name).join(", ")}</dd>
        <dt className="text-slate-600">Bundle age</dt>
        <dd>
          {formatDuration(preview.targetAgeSeconds)} old
          {preview.madeOutsideDeckhand && (
            <span className="ml-2 rounded bg-amber-100 px-1.5 py-0.5 text-xs text-amber-800" title="Deckhand has no record of this bundle; what it carries was read from the tarball itself">
              made outside Deckhand
            </span>
          )}
        </dd>
        {preview.revertsDeployId && (
          <>
            <dt className="text-slate-600">Replaces</dt>
            <dd>
              <Link href={`/deploys/${preview.revertsDeployId}`} className="font-mono text-xs break-all text-sky-800 hover:underline">
                {preview.revertsDeployId}
              </Link>
            </dd>
          </>
        )}
        <dt className="text-slate-600">sha256</dt>
        <dd className="font-mono text-xs break-all">{preview.sha256}</dd>
      </dl>

      <table className="cards w-full overflow-hidden rounded-md text-sm ring-1 ring-slate-200" data-testid="redeploy-changes">
        <thead className="bg-slate-100 text-left text-slate-600">
          <tr>
            <th className="px-3 py-1.5">Host</th>
            <th className="px-3 py-1.5">Service</th>
            <th className="px-3 py-1.5">From</th>
            <th className="px-3 py-1.5">To</th>
          </tr>
        </thead>
        <tbody>
          {preview.changes.map((change) => (
            <tr key={`${change.instanceId}-${change.service}`} className="border-t border-slate-100" data-testid={`redeploy-change-${change.instanceId}-${change.service}`}>
              <td data-label="Host" className="px-3 py-1.5">{change.hostName}</td>
              <td data-label="Service" className="px-3 py-1.5">{change.service}</td>
              <td data-label="From" className="px-3 py-1.5 font-mono text-xs break-all" title={change.from ?? undefined}>
                {change.from ? bundleFileName(change.from) : <span className="text-slate-600">unknown</span>}
              </td>
              <td data-label="To" className="px-3 py-1.5 font-mono text-xs break-all" title={change.to}>
                {change.from === change.to ? <span className="text-slate-600">unchanged</span> : <>→ {bundleFileName(change.to)}</>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <section>
        <h3 className="mb-1 text-sm font-medium">Files (against what is live now)</h3>
        <FileDiff diff={preview.diff} testId="redeploy-diff" />
      </section>

      <section>
        <h3 className="mb-1 text-sm font-medium">Host script (exactly as it would be sent through SSM)</h3>
        <pre className="code-pane max-h-72 overflow-auto rounded p-3 font-mono text-xs whitespace-pre-wrap break-all" data-testid="redeploy-script" tabIndex={0} aria-label="Host script">
          {preview.script}
        </pre>
      </section>
    </div>
  );
}
