import type { BulkProgress } from "./bulk";

interface Props {
  count: number;
  progress: BulkProgress | null;
  onRun: (verb: "launch" | "stop" | "check") => void;
  onExport: () => void;
  onCancel: () => void;
  onClear: () => void;
}

/** Bulk actions on the selected rows, the progress of the one running, and each item's result. */
export function BulkBar({ count, progress, onRun, onExport, onCancel, onClear }: Props) {
  const running = progress?.running ?? false;
  const failed = progress?.results.filter((r) => !r.ok) ?? [];
  return (
    <section className="bulk" aria-label="Bulk actions" data-testid="bulk">
      <div className="bulk-actions">
        <span>{count} selected</span>
        <button disabled={running || count === 0} onClick={() => onRun("launch")} data-testid="bulk-launch">
          Launch
        </button>
        <button disabled={running || count === 0} onClick={() => onRun("stop")} data-testid="bulk-stop">
          Stop
        </button>
        <button disabled={running || count === 0} onClick={() => onRun("check")} data-testid="bulk-check">
          Check exits
        </button>
        <button disabled={running || count === 0} onClick={onExport} data-testid="bulk-export">
          Export…
        </button>
        {running ? (
          <button onClick={onCancel} data-testid="bulk-cancel">
            Cancel
          </button>
        ) : (
          <button className="link" onClick={onClear} data-testid="bulk-clear">
            Clear
          </button>
        )}
      </div>
      {progress && (
        <div
          className="bulk-progress"
          data-testid="bulk-progress"
          data-done={progress.done}
          data-total={progress.total}
          data-running={running ? "yes" : "no"}
          data-failed={failed.length}
        >
          <progress max={progress.total} value={progress.done} aria-label={`${progress.verb} progress`} />
          <span role="status">
            {progress.verb}: {progress.done} of {progress.total}
            {progress.cancelled ? " (cancelled)" : ""}
            {failed.length > 0 ? ` · ${failed.length} failed` : ""}
          </span>
          <ul className="bulk-results">
            {progress.results.map((r) => (
              <li key={r.name} className={r.ok ? "ok" : "bad"} data-testid="bulk-result" data-name={r.name} data-ok={r.ok ? "yes" : "no"}>
                {r.ok ? "✓" : "✗"} {r.name}: {r.detail}
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
