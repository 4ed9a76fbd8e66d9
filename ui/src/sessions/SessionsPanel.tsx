import type { SessionInfo } from "../bindings/SessionInfo";
import { formatWhen } from "../exits/egress";
import { formatOffset } from "./launch";

interface Props {
  sessions: SessionInfo[];
  onSelect: (name: string) => void;
}

/** Running sessions, live: since, pid, egress, clock offset, risk window. */
export function SessionsPanel({ sessions, onSelect }: Props) {
  if (sessions.length === 0) return null;
  return (
    <section className="sessions" aria-label="Running sessions" data-testid="sessions" data-count={sessions.length}>
      <table>
        <thead>
          <tr>
            <th>Running</th>
            <th>Since</th>
            <th>Pid</th>
            <th>Egress</th>
            <th>Clock</th>
            <th>Risk</th>
          </tr>
        </thead>
        <tbody>
          {sessions.map((s) => (
            <tr key={s.session_id} data-testid="session-row" data-template={s.template} onClick={() => onSelect(s.template)}>
              <td>{s.template}</td>
              <td>{formatWhen(s.since)}</td>
              <td>{s.pid ?? "—"}</td>
              <td>{s.egress_ip ?? "unknown"}</td>
              <td>{formatOffset(s.clock_offset_ms)}</td>
              <td className={s.risk.open ? "bad" : ""} data-testid="session-risk" data-open={s.risk.open ? "true" : "false"}>
                {s.risk.open ? `window open: ${s.risk.reasons.map((r) => r.kind.replace(/_/g, " ")).join(", ")}` : "—"}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
