import type { FileChange } from "@/lib/bundle/diff";
import { formatBytes } from "./format";

const changeStyle: Record<FileChange["change"], { sign: string; className: string }> = {
  added: { sign: "+", className: "text-emerald-800" },
  removed: { sign: "−", className: "text-red-800" },
  changed: { sign: "~", className: "text-amber-800" },
};

/** Files a bundle adds, removes or changes against what is live. */
export function FileDiff({ diff, testId }: { diff: FileChange[]; testId: string }) {
  if (diff.length === 0) {
    return (
      <p className="text-sm text-slate-700" data-testid={testId}>
        no file changes
      </p>
    );
  }
  return (
    <ul className="max-h-48 overflow-auto rounded bg-slate-50 p-2 font-mono text-xs break-all ring-1 ring-slate-200" data-testid={testId} tabIndex={0} aria-label="Changed files">
      {diff.map((file) => (
        <li key={file.path} className={changeStyle[file.change].className} data-change={file.change}>
          {changeStyle[file.change].sign} {file.path}
          <span className="text-slate-700">
            {file.change === "changed" && file.sizeBefore !== undefined && file.sizeAfter !== undefined && ` ${formatBytes(file.sizeBefore)} → ${formatBytes(file.sizeAfter)}`}
            {file.change === "added" && file.sizeAfter !== undefined && ` ${formatBytes(file.sizeAfter)}`}
          </span>
        </li>
      ))}
    </ul>
  );
}
