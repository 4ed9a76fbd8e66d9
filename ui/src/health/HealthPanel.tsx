import { api } from "../api";
import { reasonsLine } from "../guard/guard";
import { ms, pct } from "./health";
import { LazyChart as SeriesChart } from "./LazyChart";
import { usePolled } from "../shared/usePolled";

interface Props {
  name: string;
  /** While a session runs the panel refreshes itself. */
  running: boolean;
}

/** The report and the risk window, with when they were read (reasons are shown with their age). */
const loadHealth = (name: string) =>
  Promise.all([api.templateHealth(name), api.templateRisk(name)]).then(([report, risk]) => ({
    report,
    risk,
    at: Date.now(),
  }));

/** Why sessions drop: both layers over 5 min / 1 h / 24 h, a chart, per exit, a timeline. */
export function HealthPanel({ name, running }: Props) {
  const { value, error } = usePolled(loadHealth, name, running);

  if (error) return <div className="health error" data-testid="health-error">{error}</div>;
  if (!value) return null;
  const { report, risk, at } = value;
  const longest = report.windows[report.windows.length - 1];
  return (
    <section className="health" aria-label="Health" data-testid="health" data-failed={longest?.session.failed ?? 0}>
      <h3>Health {running ? <span className="live">live</span> : null}</h3>
      <div className={risk.open ? "risk open" : "risk"} data-testid="risk" data-open={risk.open ? "true" : "false"}>
        {risk.open
          ? `Risk window open — sensitive actions are held: ${reasonsLine(risk.reasons, at)}`
          : "No risk window: sensitive actions pass."}
      </div>
      <table className="health-windows">
        <thead>
          <tr>
            <th />
            <th>Requests</th>
            <th>Failed</th>
            <th>401</th>
            <th>Refresh ok</th>
            <th>Refresh p95</th>
            <th>Verif.</th>
            <th>Dials</th>
            <th>Handshake fail</th>
            <th>Reconn./min</th>
            <th>Idle reclaims</th>
          </tr>
        </thead>
        <tbody>
          {report.windows.map((w) => (
            <tr key={w.label} data-testid="health-window" data-label={w.label}>
              <th>{w.label}</th>
              <td>{w.session.requests}</td>
              <td className={w.session.failed > 0 ? "bad" : ""}>{w.session.failed}</td>
              <td>{pct(w.session.unauthorized_ratio)}</td>
              <td>{pct(w.session.refresh_success_rate)}</td>
              <td>{ms(w.session.refresh_latency_p95_ms)}</td>
              <td>{w.session.verifications}</td>
              <td>{w.connection.dials}</td>
              <td>{pct(w.connection.handshake_failure_rate)}</td>
              <td>{w.connection.reconnects_per_min}</td>
              <td>{w.connection.idle_reclaims}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <SeriesChart name={name} tick={at} />
      {report.exits.length > 0 ? (
        <table className="health-exits">
          <thead>
            <tr>
              <th>Exit</th>
              <th>Egress</th>
              <th>Requests</th>
              <th>Failures by stage</th>
            </tr>
          </thead>
          <tbody>
            {report.exits.map((e) => (
              <tr key={`${e.exit_url} ${e.egress_ip ?? ""}`} data-testid="health-exit">
                <td>{e.exit_url}</td>
                <td>{e.egress_ip ?? "?"}</td>
                <td>{e.requests}</td>
                <td>
                  {Object.entries(e.failures)
                    .map(([k, v]) => `${k} ${v}`)
                    .join(", ") || "none"}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <ol className="timeline" data-testid="health-timeline">
        {[...report.timeline]
          .reverse()
          .slice(0, 30)
          .map((t, i) => (
            <li key={`${t.at}-${i}`} data-kind={t.kind}>
              <time>{new Date(t.at).toLocaleTimeString()}</time> <b>{t.kind.replace(/_/g, " ")}</b>
              {t.stage ? <span className="stage">{t.stage}</span> : null}
              {t.count > 1 ? <span className="count">×{t.count}</span> : null} {t.detail}
            </li>
          ))}
      </ol>
    </section>
  );
}
