import { api } from "../api";
import { usePolled } from "../shared/usePolled";
import { teamLine } from "./team";

const load = () => api.teamStatus();

/** The team in the header: connected or offline (and why), the role, who runs what where. */
export function TeamBadge() {
  const { value: status } = usePolled(load, "team", true, 5000);
  if (!status) return null;
  return (
    <details className="team-badge" data-testid="team-badge" data-connected={status.connected ? "yes" : "no"}>
      <summary className={status.connected ? "badge badge-ok" : "badge badge-changed"} data-testid="team-line">
        {teamLine(status)}
      </summary>
      {status.error && <p className="muted">{status.error}</p>}
      {status.running.length === 0 ? (
        <p className="muted">No account of the team is running.</p>
      ) : (
        <ul data-testid="team-running">
          {status.running.map((r) => (
            <li key={r.template_id} data-testid="team-running-row">
              {r.template} — {r.here ? "this machine" : `${r.member} on ${r.machine_id}`} since {r.since}
            </li>
          ))}
        </ul>
      )}
    </details>
  );
}
