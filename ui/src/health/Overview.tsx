import { useEffect, useRef, useState } from "react";
import { api } from "../api";
import type { Overview as OverviewData } from "../bindings/Overview";
import { toErrorPayload } from "../shared/errors";
import { LazyChart as SeriesChart } from "./LazyChart";

interface Props {
  /** Changes on every pushed event: the overview reloads (at most once a second). */
  tick: number;
  onOpen: (name: string) => void;
}

/** Health across all accounts: who is in trouble now and why, and each exit across accounts. */
export function Overview({ tick, onOpen }: Props) {
  const [data, setData] = useState<OverviewData | null>(null);
  const [error, setError] = useState<string | null>(null);
  const last = useRef(0);

  useEffect(() => {
    let alive = true;
    const wait = Math.max(0, last.current + 1000 - Date.now());
    const timer = window.setTimeout(() => {
      last.current = Date.now();
      api
        .fleetOverview()
        .then((o) => alive && (setData(o), setError(null)))
        .catch((e: unknown) => alive && setError(toErrorPayload(e).message));
    }, wait);
    return () => {
      alive = false;
      window.clearTimeout(timer);
    };
  }, [tick]);

  // Exits in use or failing; the idle rest is one line (hundreds of accounts, hundreds of exits).
  const busy = data?.exits.filter((e) => e.running > 0 || e.failures_5m > 0) ?? [];
  const quiet = (data?.exits.length ?? 0) - busy.length;
  return (
    <section className="overview" aria-label="Health overview" data-testid="overview">
      {error && (
        <div className="banner error" role="alert">
          {error}
        </div>
      )}
      <div className="overview-counts">
        <span data-testid="overview-running">{data?.running ?? "…"} running</span>
        <span data-testid="overview-risk" className={data && data.risk_open > 0 ? "danger" : ""}>
          {data?.risk_open ?? "…"} at risk
        </span>
      </div>
      <h2>In trouble now</h2>
      {data && data.trouble.length === 0 ? (
        <p className="muted" data-testid="no-trouble">
          No session is in trouble: no open risk window, no failures in the last 5 minutes.
        </p>
      ) : (
        <ol className="trouble" data-testid="trouble-list">
          {data?.trouble.map((t) => (
            <li key={t.template_id} data-testid="trouble" data-name={t.template} data-score={t.score}>
              <button type="button" className="link" onClick={() => onOpen(t.template)}>
                {t.template}
              </button>
              <span className="muted"> — {t.reasons.join(" · ")}</span>
            </li>
          ))}
        </ol>
      )}
      <h2>All accounts over time</h2>
      <SeriesChart name={null} tick={tick} />
      <h2>Exits across accounts (5 min)</h2>
      <table className="exits" data-testid="exit-table">
        <thead>
          <tr>
            <th scope="col">Exit</th>
            <th scope="col">Accounts</th>
            <th scope="col">Running</th>
            <th scope="col">Requests</th>
            <th scope="col">Failures (connection)</th>
            <th scope="col">Verdict</th>
          </tr>
        </thead>
        <tbody>
          {busy.map((e) => (
            <tr key={e.exit} data-testid="exit-row" data-exit={e.exit} data-verdict={e.verdict}>
              <td title={e.exit}>{e.exit}</td>
              <td>{e.accounts}</td>
              <td>{e.running}</td>
              <td>{e.requests_5m}</td>
              <td>
                {e.failures_5m} ({e.connection_failures_5m})
              </td>
              <td className={"verdict-" + e.verdict}>{e.summary}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {quiet > 0 && (
        <p className="muted" data-testid="quiet-exits">
          {quiet} more exits have nothing running and no failures in 5 min.
        </p>
      )}
    </section>
  );
}
