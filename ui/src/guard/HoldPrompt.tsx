import { useEffect, useState } from "react";
import { api } from "../api";
import type { Decision } from "../bindings/Decision";
import { toErrorPayload } from "../shared/errors";
import { usePolled } from "../shared/usePolled";
import { actionLabel, reasonsLine, secondsLeft } from "./guard";

const loadHolds = () => api.pendingHolds();

/** How often the app asks the core for held requests. */
const POLL_MS = 500;

/**
 * The guard's prompt: while a sensitive request of one of this app's sessions is held in a
 * risk window, ask Proceed or Cancel (the oldest hold first). No answer before the deadline is
 * Cancel — the core decides that on its own, the prompt then just goes away.
 */
export function HoldPrompt() {
  const polled = usePolled(loadHolds, "", true, POLL_MS);
  const [now, setNow] = useState(() => Date.now());
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  // Holds answered here leave the prompt at once, before the next poll confirms it.
  const [answered, setAnswered] = useState<number[]>([]);
  const open = (polled.value ?? []).filter((h) => !answered.includes(h.id));
  const hold = open[0];
  const waiting = open.length;
  const holdId = hold?.id;
  useEffect(() => {
    // The countdown moves while a hold waits.
    if (holdId === undefined) return;
    const timer = window.setInterval(() => setNow(Date.now()), POLL_MS);
    return () => window.clearInterval(timer);
  }, [holdId]);

  if (!hold) return null;

  const decide = async (decision: Decision) => {
    setBusy(true);
    setError(null);
    try {
      await api.decideHold(hold.id, decision);
    } catch (e) {
      const p = toErrorPayload(e);
      // Timed out (cancelled) or answered meanwhile: the next poll drops it.
      setError(p.code === "hold_not_found" ? "This request was already decided (timed out: cancelled)." : p.message);
    } finally {
      setBusy(false);
      setAnswered((ids) => [...ids.slice(-50), hold.id]);
      polled.reload();
    }
  };

  return (
    <div className="modal-backdrop">
      <div
        className="modal hold"
        role="alertdialog"
        aria-labelledby="hold-title"
        aria-describedby="hold-reasons"
        data-testid="hold-prompt"
        data-hold-id={hold.id}
      >
        <h2 id="hold-title" data-testid="hold-action">
          Hold: {actionLabel(hold.action)} in “{hold.template}”
        </h2>
        <p className="hold-request">
          <code>
            {hold.method} {hold.url}
          </code>
        </p>
        <p>The session is in a risk window; this request has not been sent:</p>
        <p className="hold-reasons" id="hold-reasons" data-testid="hold-reasons">
          {reasonsLine(hold.reasons, now)}
        </p>
        <p className="muted">
          Cancelled in {secondsLeft(hold.deadline, now)} s unless you answer.
          {waiting > 1 ? ` ${waiting - 1} more waiting.` : ""}
        </p>
        {error && <p className="field-error">{error}</p>}
        <div className="buttons">
          <button className="danger" disabled={busy} onClick={() => void decide("cancel")} data-testid="hold-cancel">
            Cancel
          </button>
          <button className="primary" disabled={busy} onClick={() => void decide("proceed")} data-testid="hold-proceed">
            Proceed
          </button>
        </div>
      </div>
    </div>
  );
}
