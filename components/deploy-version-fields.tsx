"use client";

// Versions from git (issue 12): an optional version label for the bundle's name, and an optional tag or
// commit to deploy from a clean checkout instead of the working tree. The server validates both.
export function DeployVersionFields({
  suggested,
  latest,
  version,
  onVersion,
  gitRef,
  onGitRef,
  disabled,
}: {
  suggested: string;
  latest: string | null;
  version: string;
  onVersion: (value: string) => void;
  gitRef: string;
  onGitRef: (value: string) => void;
  disabled?: boolean;
}) {
  return (
    <div className="mt-4 flex flex-wrap items-end gap-4 text-sm text-slate-600">
      <label className="flex flex-col gap-1">
        <span>
          Version label <span className="text-xs text-slate-700">(optional; latest tag {latest ?? "none"})</span>
        </span>
        <span className="flex items-center gap-2">
          <input type="text" value={version} onChange={(e) => onVersion(e.target.value.trim())} disabled={disabled} placeholder={suggested} data-testid="deploy-version" className="w-40 rounded-md border border-slate-300 px-2 py-1 font-mono" />
          <button type="button" onClick={() => onVersion(suggested)} disabled={disabled} className="rounded border border-slate-300 px-2 py-1 text-xs hover:bg-slate-50" data-testid="use-suggested-version">
            use {suggested}
          </button>
        </span>
      </label>
      <label className="flex flex-col gap-1">
        <span>
          Deploy a tag or commit <span className="text-xs text-slate-700">(optional; packed from a clean checkout, not the working tree)</span>
        </span>
        <input type="text" value={gitRef} onChange={(e) => onGitRef(e.target.value.trim())} disabled={disabled} placeholder="working tree" data-testid="deploy-ref" className="w-56 rounded-md border border-slate-300 px-2 py-1 font-mono" />
      </label>
    </div>
  );
}
