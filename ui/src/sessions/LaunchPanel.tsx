import { useState } from "react";
import type { ErrorPayload } from "../bindings/ErrorPayload";
import type { LaunchStep } from "../bindings/LaunchStep";
import type { Preflight } from "../bindings/Preflight";
import type { SessionInfo } from "../bindings/SessionInfo";
import { isOverridable } from "../shared/errors";
import { formatWhen } from "../exits/egress";
import { formatOffset, preflightLines, stepLabel } from "./launch";

/** The launch of one template as the app tracks it. */
export interface LaunchState {
  name: string;
  busy: boolean;
  step: LaunchStep | null;
  preflight: Preflight | null;
  error: ErrorPayload | null;
}

interface Props {
  name: string;
  /** The template's own automation setting: when on, every launch opens the port. */
  templateAutomation: boolean;
  session: SessionInfo | null;
  launch: LaunchState | null;
  /** `cdp`: open an automation DevTools port. */
  onLaunch: (force: boolean, cdp: boolean) => void;
  onStop: () => void;
  stopping: boolean;
}

/** Launch / Stop for the selected template, with the launch's progress and preflight. */
export function LaunchPanel({ name, templateAutomation, session, launch, onLaunch, onStop, stopping }: Props) {
  const mine = launch && launch.name === name ? launch : null;
  const [automation, setAutomation] = useState(false);
  const busy = mine?.busy ?? false;
  const warnings = mine?.preflight ? [...mine.preflight.warnings, ...mine.preflight.forced] : [];
  return (
    <section className="launch" aria-label="Session" data-testid="launch-panel" data-running={session ? "yes" : "no"}>
      <div className="exit-status-head">
        <h3>Session</h3>
        {session ? (
          <>
            <span className="badge badge-ok" data-testid="session-state">
              running since {formatWhen(session.since)}
            </span>
            <button type="button" onClick={onStop} disabled={stopping} data-testid="stop">
              {stopping ? "Stopping…" : "Stop"}
            </button>
          </>
        ) : (
          <>
            <button
              type="button"
              className="primary"
              onClick={() => onLaunch(false, automation)}
              disabled={busy}
              data-testid="launch"
            >
              {busy ? "Launching…" : "Launch"}
            </button>
            <label
              className="automation"
              title={
                templateAutomation
                  ? "On in the template's settings: every launch opens a DevTools port on 127.0.0.1."
                  : "Opens a DevTools port on 127.0.0.1: any process of any user on this machine that finds it can drive the browser and read its cookies."
              }
            >
              <input
                type="checkbox"
                checked={automation || templateAutomation}
                disabled={templateAutomation}
                onChange={(e) => setAutomation(e.target.checked)}
                data-testid="launch-cdp"
              />{" "}
              automation port
            </label>
          </>
        )}
      </div>
      {busy && mine?.step && (
        <div className="launch-progress" data-testid="launch-progress" data-step={mine.step}>
          <progress className="progress" aria-label="Launching" />
          <span>{stepLabel(mine.step)}</span>
        </div>
      )}
      {session && (
        <dl className="exit-facts" data-testid="session-facts">
          <dt>Browser pid</dt>
          <dd data-testid="session-pid">{session.pid ?? "—"}</dd>
          <dt>Egress</dt>
          <dd data-testid="session-egress">{session.egress_ip ?? "unknown"}</dd>
          <dt>Clock</dt>
          <dd data-testid="session-clock">{formatOffset(session.clock_offset_ms)}</dd>
          <dt>Automation</dt>
          <dd data-testid="session-cdp">{session.cdp ?? "off (DevTools over a private pipe only)"}</dd>
        </dl>
      )}
      {mine?.preflight && (
        <ul className="preflight" data-testid="preflight">
          {preflightLines(mine.preflight).map((l) => (
            <li key={l}>{l}</li>
          ))}
          {warnings.map((w) => (
            <li key={w} className="warning" data-testid="preflight-warning">
              ⚠ {w}
            </li>
          ))}
        </ul>
      )}
      {mine?.error && (
        <div className="banner error" role="alert" data-testid="launch-error" data-code={mine.error.code}>
          {mine.error.message}
          {isOverridable(mine.error.code) && (
            <button type="button" onClick={() => onLaunch(true, automation)} data-testid="launch-force">
              Launch anyway
            </button>
          )}
        </div>
      )}
    </section>
  );
}
