"use client";

// Environments (issue 12): one picker shared by the dashboard and the bundles page, the production
// marker, and the typed-name confirmation a production deploy or rollback needs (checked again by the server).
import { useEffect, useState } from "react";

export interface EnvironmentChoice {
  name: string;
  production: boolean;
}

const STORAGE_KEY = "deckhand.environment";

/** The environment shown: the one picked last in this tab (kept across pages), else the first configured. */
export function useEnvironmentChoice(environments: EnvironmentChoice[]): [string | null, (name: string) => void] {
  const [picked, setPicked] = useState<string | null>(null);
  useEffect(() => {
    const stored = window.sessionStorage.getItem(STORAGE_KEY);
    if (stored) setPicked(stored);
  }, []);
  const choose = (name: string) => {
    window.sessionStorage.setItem(STORAGE_KEY, name);
    setPicked(name);
  };
  const names = environments.map((e) => e.name);
  return [picked && names.includes(picked) ? picked : (names[0] ?? null), choose];
}

export function EnvironmentPicker({ environments, value, onChange, testId = "environment-picker" }: { environments: EnvironmentChoice[]; value: string; onChange: (name: string) => void; testId?: string }) {
  if (environments.length < 2) return null;
  return (
    <label className="flex items-center gap-2 text-sm text-slate-600">
      Environment
      <select value={value} onChange={(e) => onChange(e.target.value)} className="rounded-md border border-slate-300 bg-white px-2 py-1 text-sm" data-testid={testId}>
        {environments.map((env) => (
          <option key={env.name} value={env.name}>
            {env.production ? `${env.name} (PRODUCTION)` : env.name}
          </option>
        ))}
      </select>
    </label>
  );
}

export function ProductionBadge({ production }: { production: boolean }) {
  if (!production) return null;
  return (
    <span className="rounded bg-red-700 px-2 py-0.5 text-xs font-bold uppercase tracking-wide text-white" data-testid="production-badge" title="A production environment: deploys and rollbacks need its name typed in">
      production
    </span>
  );
}

/** Whether what was typed lets a deploy start (always, outside production). */
export function environmentConfirmed(environment: EnvironmentChoice, typed: string): boolean {
  return !environment.production || typed === environment.name;
}

/** The field a production deploy or rollback asks for; nothing outside production. */
export function ConfirmEnvironmentField({ environment, value, onChange, disabled }: { environment: EnvironmentChoice; value: string; onChange: (typed: string) => void; disabled?: boolean }) {
  if (!environment.production) return null;
  return (
    <label className="flex flex-col gap-1 rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-900">
      <span>
        <strong>{environment.name}</strong> is production. Type its name to confirm:
      </span>
      <input
        type="text"
        value={value}
        onChange={(e) => onChange(e.target.value)}
        disabled={disabled}
        autoComplete="off"
        spellCheck={false}
        placeholder={environment.name}
        aria-label={`Type ${environment.name} to confirm`}
        data-testid="confirm-environment"
        className="w-64 rounded-md border border-red-300 bg-white px-2 py-1 font-mono text-sm text-slate-900"
      />
    </label>
  );
}
