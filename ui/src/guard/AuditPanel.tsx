import { api } from "../api";
import { actionLabel } from "./guard";
import { usePolled } from "../shared/usePolled";

interface Props {
  name: string;
  /** While a session runs the list refreshes itself. */
  running: boolean;
}

/** The guard's audit log of one template: every hold and its decision, newest first. */
export function AuditPanel({ name, running }: Props) {
  const { value: records, error } = usePolled(api.auditLog, name, running);

  if (error) return <div className="audit error">{error}</div>;
  if (!records) return null;
  return (
    <section className="audit" aria-label="Guard audit log" data-testid="audit">
      <h3>Guard audit log</h3>
      {records.length === 0 ? (
        <p className="muted">Nothing held yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Held</th>
              <th>Action</th>
              <th>Request</th>
              <th>Reasons</th>
              <th>Decision</th>
            </tr>
          </thead>
          <tbody>
            {records.map((r) => (
              <tr key={r.id} data-testid="audit-row" data-decision={r.decision ?? "none"} data-decided-by={r.decided_by ?? "none"}>
                <td>{r.held_at.replace("T", " ").slice(0, 19)}</td>
                <td>{actionLabel(r.action)}</td>
                <td>
                  <code>
                    {r.method} {r.url}
                  </code>
                </td>
                <td>{r.reasons}</td>
                <td className={r.decision === "proceed" ? "" : "bad"}>
                  {r.decision ? `${r.decision} by ${r.decided_by ?? "?"}` : "no decision (Holdfast stopped)"}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
