"use client";

import { useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useMemo, useState, useTransition } from "react";
import { breakLockAction, startDeployAction } from "@/app/actions";
import { withToken } from "./panel-token";
import { PreDeployChecklist } from "./pre-deploy-checklist";
import { deployShape } from "@/lib/deploy/plan";
import type { EnvironmentView, OverviewView, ServiceView } from "@/lib/deploy/views";
import { fetchJson } from "./fetch-json";
import { DeployList } from "./deploy-list";
import { DeployVersionFields } from "./deploy-version-fields";
import { ConfirmEnvironmentField, EnvironmentPicker, environmentConfirmed, ProductionBadge, useEnvironmentChoice } from "./environment-picker";
import { LiveMatrix } from "./live-matrix";
import { SandboxPanel } from "./sandbox-panel";
import { StatusBadge } from "./status-badge";
import { Time } from "./time";

export function Dashboard() {
  const overview = useQuery({ queryKey: ["overview"], queryFn: () => fetchJson<OverviewView>("/api/overview"), refetchInterval: 3000 });
  const [shown, choose] = useEnvironmentChoice(overview.data?.environments ?? []);

  if (overview.isPending)
    return (
      <p role="status" className="text-slate-700">
        Loading…
      </p>
    );
  if (overview.isError) return <ErrorBox title="Deckhand cannot load its overview" message={overview.error.message} />;
  const data = overview.data;
  if (data.configError) return <ErrorBox title="Configuration problem" message={data.configError} />;

  return (
    <div className="space-y-8">
      <EnvironmentPicker environments={data.environments} value={shown ?? ""} onChange={choose} />
      {data.environments
        .filter((environment) => environment.name === shown)
        .map((environment) => (
          <EnvironmentSection key={environment.name} environment={environment} services={data.services} />
        ))}
      {data.sandbox && <SandboxPanel />}
      <section>
        <div className="mb-2 flex items-baseline justify-between">
          <h2 className="text-lg font-semibold">Recent deploys</h2>
          <Link href="/history" className="text-sm text-sky-800 hover:underline">
            All history →
          </Link>
        </div>
        <DeployList deploys={data.recent} />
      </section>
    </div>
  );
}

export function ErrorBox({ title, message }: { title: string; message: string }) {
  return (
    <div role="alert" className="rounded-lg border border-red-300 bg-red-50 p-4 text-red-900">
      <p className="font-semibold">{title}</p>
      <p className="mt-1 font-mono text-sm break-words whitespace-pre-wrap">{message}</p>
    </div>
  );
}

function EnvironmentSection({ environment, services }: { environment: EnvironmentView; services: ServiceView[] }) {
  return (
    <section className="space-y-4" data-testid={`environment-${environment.name}`}>
      <div className="flex flex-wrap items-baseline gap-x-4 gap-y-1">
        <h1 className="text-2xl font-semibold">{environment.name}</h1>
        <ProductionBadge production={environment.production} />
        <span className="min-w-0 text-sm break-all text-slate-700">
          {environment.region} · s3://{environment.bucket}/{environment.prefix} · output: {environment.liveOutput ? "live (CloudWatch Logs)" : "at the end (SSM inline)"}
          {environment.s3Output ? " + full copy in S3" : ""}
        </span>
      </div>
      {environment.pingError && <ErrorBox title="SSM" message={environment.pingError} />}
      <LockBanner environment={environment} />
      <HostTable environment={environment} />
      <LiveMatrix environment={environment} services={services} />
      <DeployForm environment={environment} services={services} />
    </section>
  );
}

/** Who holds the environment across laptops (the bucket lock); an expired one can be broken here. */
function LockBanner({ environment }: { environment: EnvironmentView }) {
  const queryClient = useQueryClient();
  const [pending, startTransition] = useTransition();
  const [error, setError] = useState<string | null>(null);
  if (environment.lockError) return <ErrorBox title="Environment lock" message={environment.lockError} />;
  const lock = environment.lock;
  if (!lock) return null;
  const breakLock = () =>
    startTransition(async () => {
      const result = await breakLockAction(withToken({ environment: environment.name }));
      setError(result.ok ? null : result.error);
      await queryClient.invalidateQueries({ queryKey: ["overview"] });
    });
  return (
    <div data-testid={`lock-${environment.name}`} className={`flex flex-wrap items-center gap-x-3 gap-y-1 rounded-lg border p-3 text-sm ${lock.expired ? "border-amber-300 bg-amber-50 text-amber-900" : "border-slate-300 bg-slate-50 text-slate-800"}`}>
      <span>
        <span className="font-semibold">{lock.expired ? "Lock expired:" : "Deploying:"}</span>{" "}
        {lock.unreadable ? (
          "an unreadable lock object (not written by Deckhand)"
        ) : (
          <>
            held by <span className="font-mono">{lock.owner}</span> (<span className="font-mono text-xs">{lock.identity}</span>) for deploy{" "}
            {lock.local ? (
              <Link href={`/deploys/${lock.deployId}`} className="text-sky-700 hover:underline">
                {lock.deployId}
              </Link>
            ) : (
              <span className="font-mono">{lock.deployId}</span>
            )}
          </>
        )}{" "}
        since <Time iso={lock.takenAt} />, {lock.expired ? "expired" : "expires"} <Time iso={lock.expiresAt} />
      </span>
      {lock.expired && (
        <button type="button" disabled={pending} onClick={breakLock} data-testid="break-lock" title="Its panel stopped renewing it: break it only if that panel is gone" className="rounded-md border border-amber-400 px-3 py-1 font-semibold hover:bg-amber-100 disabled:opacity-50">
          {pending ? "Breaking…" : "Break the lock"}
        </button>
      )}
      {error && (
        <span role="alert" className="text-red-700">
          {error}
        </span>
      )}
    </div>
  );
}

function HostTable({ environment }: { environment: EnvironmentView }) {
  return (
    <table className="cards w-full overflow-hidden rounded-lg bg-white text-sm shadow-sm ring-1 ring-slate-200">
      <caption className="sr-only">Hosts of {environment.name}</caption>
      <thead className="bg-slate-100 text-left text-slate-700">
        <tr>
          <th className="px-3 py-2">Host</th>
          <th className="px-3 py-2">Instance</th>
          <th className="px-3 py-2">SSM agent</th>
          {environment.hosts.some((h) => h.target) && <th className="px-3 py-2">ALB target</th>}
          <th className="px-3 py-2">Last deploy</th>
          <th className="px-3 py-2">Status</th>
        </tr>
      </thead>
      <tbody>
        {environment.hosts.map((host) => (
          <tr key={host.instanceId} className="border-t border-slate-100" data-testid={`host-row-${host.instanceId}`}>
            <td data-label="Host" className="px-3 py-2 font-medium">
              {host.name}
            </td>
            <td data-label="Instance" className="px-3 py-2 font-mono text-xs break-all">
              {host.instanceId}
            </td>
            <td data-label="SSM agent" className="px-3 py-2">
              {host.ping ? <StatusBadge status={host.ping} /> : <span className="text-slate-700">unknown</span>}
              {(host.agentVersion || host.lastPing) && (
                <span className="block text-xs text-slate-800" data-testid={`host-agent-${host.instanceId}`}>
                  {host.agentVersion ? `agent ${host.agentVersion}` : ""}
                  {host.lastPing ? (
                    <>
                      {" · last ping "}
                      <Time iso={host.lastPing} />
                    </>
                  ) : null}
                </span>
              )}
            </td>
            {environment.hosts.some((h) => h.target) && (
              <td data-label="ALB target" className="px-3 py-2" data-testid={`host-target-${host.instanceId}`}>
                {host.target ? `${host.target.state}${host.target.reason ? ` (${host.target.reason})` : ""}` : "unknown"}
              </td>
            )}
            <td data-label="Last deploy" className="px-3 py-2">
              {host.last ? (
                <Link href={`/deploys/${host.last.deployId}`} className="text-sky-800 hover:underline">
                  {host.last.label} · <Time iso={host.last.at} />
                </Link>
              ) : (
                <span className="text-slate-700">none recorded</span>
              )}
            </td>
            <td data-label="Status" className="px-3 py-2">
              {host.last ? <StatusBadge status={host.last.status} /> : <span className="text-slate-700">—</span>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Fields of the deploy form that a refusal can point at (the action's field errors). */
const FIELD_LABELS: Record<string, string> = { services: "Services", environment: "Environment", reviewScript: "Review", confirmEnvironment: "Confirmation", version: "Version label" };

function DeployForm({ environment, services }: { environment: EnvironmentView; services: ServiceView[] }) {
  const router = useRouter();
  const [chosen, setChosen] = useState<string[]>([]);
  const [reviewScript, setReviewScript] = useState(false);
  const [skipOfflineHosts, setSkipOfflineHosts] = useState(false);
  const [goAheadReason, setGoAheadReason] = useState("");
  const [checklistReady, setChecklistReady] = useState(false);
  const [typedName, setTypedName] = useState("");
  const [version, setVersion] = useState("");
  const [gitRef, setGitRef] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [pending, startTransition] = useTransition();
  const byName = useMemo(() => Object.fromEntries(services.map((s) => [s.name, s])), [services]);
  const shape = chosen.length > 0 ? deployShape(byName, chosen) : null;
  const builds = chosen.map((name) => byName[name]).filter((s) => s.build);
  const running = environment.activeDeploy ?? null;
  const blocked = running ? `A ${running.kind} of ${running.services.join(", ")} is ${running.status.replace(/_/g, " ")} in ${environment.name}: one deploy at a time per environment.` : null;

  const toggle = (name: string) => setChosen((current) => (current.includes(name) ? current.filter((n) => n !== name) : [...current, name]));
  const deploy = () =>
    startTransition(async () => {
      setError(null);
      setFieldErrors({});
      const result = await startDeployAction(
        withToken({ environment: environment.name, services: chosen, reviewScript, skipOfflineHosts, goAheadReason: goAheadReason.trim() || undefined, ...(environment.production ? { confirmEnvironment: typedName } : {}), ...(version ? { version } : {}), ...(gitRef ? { ref: gitRef } : {}) }),
      );
      if (result.ok) router.push(`/deploys/${result.data.deployId}`);
      else if (result.fieldErrors && Object.keys(result.fieldErrors).every((field) => field in FIELD_LABELS)) setFieldErrors(result.fieldErrors);
      else setError(result.error);
    });

  return (
    <div className="rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200">
      <h2 className="mb-3 font-semibold">
        Deploy to {environment.name} <ProductionBadge production={environment.production} />
        {environment.branch && <span className="ml-2 text-xs font-normal text-slate-700">only from branch {environment.branch}</span>}
      </h2>
      <fieldset className="flex flex-wrap gap-3" aria-invalid={Boolean(fieldErrors.services)} aria-describedby={fieldErrors.services ? "services-error" : undefined}>
        <legend className="sr-only">Services to deploy to {environment.name}</legend>
        {services.map((service) => (
          <label key={service.name} className={`flex max-w-full min-w-0 cursor-pointer flex-wrap items-center gap-2 rounded-md border px-3 py-2 text-sm ${chosen.includes(service.name) ? "border-sky-500 bg-sky-50" : "border-slate-300"}`}>
            <input type="checkbox" name="service" value={service.name} checked={chosen.includes(service.name)} onChange={() => toggle(service.name)} />
            <span className="font-medium">{service.name}</span>
            <span className="font-mono text-xs break-all text-slate-700">{service.paths.join(" ")}</span>
          </label>
        ))}
      </fieldset>
      {fieldErrors.services && (
        <p id="services-error" role="alert" className="mt-2 text-sm text-red-800">
          {FIELD_LABELS.services}: {fieldErrors.services}
        </p>
      )}
      {shape && (
        <dl className="mt-4 grid grid-cols-1 gap-x-4 gap-y-1 text-sm sm:grid-cols-[max-content_minmax(0,1fr)]" data-testid="deploy-shape">
          <dt className="text-slate-700">Shape</dt>
          <dd>{shape.kind} · bundle label <code>{shape.label}</code></dd>
          <dt className="text-slate-700">Bundle carries</dt>
          <dd className="font-mono text-xs break-all">{shape.paths.join("  ")}</dd>
          <dt className="text-slate-700">Replaced whole</dt>
          <dd className="font-mono text-xs break-all">{shape.replace.join("  ") || "—"}</dd>
          <dt className="text-slate-700">Rebuilt on each host</dt>
          <dd className="font-mono text-xs break-all">{shape.composeServices.join("  ") || "—"} (the rest of the stack stays up)</dd>
          <dt className="text-slate-700">Local build first</dt>
          <dd className="font-mono text-xs break-all">{builds.map((s) => s.build).join("; ") || "—"}</dd>
          <dt className="text-slate-700">Hosts</dt>
          <dd>{environment.hosts.map((h) => h.name).join(", ")}</dd>
        </dl>
      )}
      <DeployVersionFields suggested={environment.suggestedVersion} latest={environment.latestVersionTag} version={version} onVersion={setVersion} gitRef={gitRef} onGitRef={setGitRef} disabled={pending} />
      {fieldErrors.version && (
        <p role="alert" className="mt-2 text-sm text-red-800">
          {FIELD_LABELS.version}: {fieldErrors.version}
        </p>
      )}
      <div className="mt-4">
        <ConfirmEnvironmentField environment={environment} value={typedName} onChange={setTypedName} disabled={pending} />
      </div>
      {fieldErrors.confirmEnvironment && (
        <p role="alert" className="mt-2 text-sm text-red-800">
          {FIELD_LABELS.confirmEnvironment}: {fieldErrors.confirmEnvironment}
        </p>
      )}
      <PreDeployChecklist environment={environment.name} services={chosen} reason={goAheadReason} onReason={setGoAheadReason} onReady={setChecklistReady} />
      <div className="mt-4 flex flex-wrap items-center gap-4">
        <button
          type="button"
          onClick={deploy}
          disabled={!shape || pending || Boolean(running) || !checklistReady || !environmentConfirmed(environment, typedName)}
          aria-describedby={blocked ? `deploy-blocked-${environment.name}` : undefined}
          data-testid={`deploy-button-${environment.name}`}
          className="rounded-md bg-sky-700 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-sky-800 disabled:cursor-not-allowed disabled:bg-slate-300"
        >
          {pending ? "Starting…" : "Deploy"}
        </button>
        <label className="flex items-center gap-2 text-sm text-slate-700">
          <input type="checkbox" checked={reviewScript} onChange={(e) => setReviewScript(e.target.checked)} />
          Review the host script before it is sent
        </label>
        <label className="flex items-center gap-2 text-sm text-slate-600">
          <input type="checkbox" checked={skipOfflineHosts} onChange={(e) => setSkipOfflineHosts(e.target.checked)} />
          Skip hosts SSM sees offline (otherwise the deploy is refused)
        </label>
      </div>
      {blocked && running && (
        <p id={`deploy-blocked-${environment.name}`} className="mt-3 text-sm text-slate-800" data-testid={`deploy-blocked-${environment.name}`}>
          Deploy is disabled: {blocked}{" "}
          <Link href={`/deploys/${running.id}`} className="font-medium text-sky-800 underline">
            Watch the running {running.kind}
          </Link>
        </p>
      )}
      {error && (
        <p role="alert" className="mt-3 rounded bg-red-50 p-2 text-sm break-words whitespace-pre-wrap text-red-900">
          {error}
        </p>
      )}
    </div>
  );
}
