import { useState } from "react";
import { api } from "../api";
import type { CheckReport } from "../bindings/CheckReport";
import type { EgressStatus } from "../bindings/EgressStatus";
import type { ErrorPayload } from "../bindings/ErrorPayload";
import { toErrorPayload } from "../shared/errors";
import { egressState, formatWhen } from "./egress";

interface Props {
  name: string;
  status: EgressStatus | null;
  /** Called after a check so the list can show the new status. */
  onChecked: () => Promise<void>;
}

/** The exit of a template, its pinned and last seen egress, and the "Check exit" action. */
export function ExitStatusPanel({ name, status, onChecked }: Props) {
  const [busy, setBusy] = useState(false);
  const [report, setReport] = useState<CheckReport | null>(null);
  const [failure, setFailure] = useState<ErrorPayload | null>(null);
  const shown = report?.egress ?? status;
  const state = egressState(shown);

  const check = async () => {
    setBusy(true);
    setFailure(null);
    try {
      const r = await api.checkExit(name);
      setReport(r);
      await onChecked();
    } catch (e) {
      setFailure(toErrorPayload(e));
    } finally {
      setBusy(false);
    }
  };

  const error = failure ?? report?.error ?? null;
  return (
    <section className="exit-status" aria-label="Exit status" data-testid="exit-status" data-state={state}>
      <div className="exit-status-head">
        <h3>Exit</h3>
        <span className={"badge badge-" + state} data-testid="exit-state">
          {state === "ok" ? "egress as pinned" : state === "changed" ? "egress changed" : state === "seen" ? "seen" : "not checked"}
        </span>
        <button type="button" onClick={check} disabled={busy} data-testid="check-exit">
          {busy ? "Checking exit…" : "Check exit"}
        </button>
      </div>
      {busy && <progress className="progress" aria-label="Checking exit" data-testid="check-progress" />}
      <dl className="exit-facts">
        <dt>Exit</dt>
        <dd data-testid="exit-url">{shown?.exit ?? "—"}</dd>
        <dt>Pinned IP</dt>
        <dd data-testid="exit-pinned">{shown?.pinned ?? "not pinned"}</dd>
        <dt>Last seen IP</dt>
        <dd data-testid="exit-ip">{shown?.ip ?? "—"}</dd>
        <dt>Changed</dt>
        <dd data-testid="exit-changed">
          {shown?.changed ? `yes${shown.previous ? ` (was ${shown.previous})` : ""}` : "no"}
        </dd>
        <dt>Exit is in</dt>
        <dd data-testid="exit-geo">
          {shown?.country || shown?.timezone ? `${shown.country ?? "?"} · ${shown.timezone ?? "?"}` : "—"}
          {shown?.previous_country ? ` (was ${shown.previous_country})` : ""}
        </dd>
        <dt>Last check</dt>
        <dd data-testid="exit-checked-at">{formatWhen(shown?.checked_at ?? null)}</dd>
      </dl>
      {error && (
        <div className="banner error" role="alert" data-testid="check-error" data-code={error.code}>
          {error.message}
        </div>
      )}
      {report?.geo && report.geo.verdict !== "consistent" && (
        <div
          className={"banner " + (report.geo.verdict === "mismatch" ? "warn" : "info")}
          role="status"
          data-testid="geo-result"
          data-verdict={report.geo.verdict}
        >
          {report.geo.verdict === "mismatch"
            ? `Does not fit the exit: ${report.geo.issues.map((i) => i.message).join("; ")}`
            : `Where the exit is is unknown: ${report.geo.reason ?? ""}`}
        </div>
      )}
      {report && !error && (
        <div className={"banner " + (report.ok ? "ok" : "error")} role="status" data-testid="check-result">
          {report.ok
            ? `Egress ${report.egress.ip ?? ""} via ${report.egress.via ?? ""}`
            : report.egress.changed
              ? `Egress ${report.egress.ip ?? ""} differs from ${report.egress.pinned ?? report.egress.previous ?? "before"}`
              : "This template requires its environment to fit the exit: a launch would be refused"}
        </div>
      )}
    </section>
  );
}
