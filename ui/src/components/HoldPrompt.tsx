import { useEffect, useState } from "react";
import { api } from "../api";
import type { Decision } from "../bindings/Decision";
import type { PendingHold } from "../bindings/PendingHold";
import { toErrorPayload } from "../errors";
import { actionLabel, reasonsLine, secondsLeft } from "../guard";

/** How often the app asks the core for held requests. */
const POLL_MS = 500;

/**
 * The guard's prompt: while a sensitive request of one of this app's sessions is held in a
 * risk window, ask Proceed or Cancel (the oldest hold first). No answer before the deadline is
 * Cancel — the core decides that on its own, the prompt then just goes away.
 */
export function HoldPrompt() {
  const [holds, setHolds] = useState<PendingHold[]>([]);
  const [now, setNow] = useState(() => Date.now());
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    const poll = () => {
      api
        .pendingHolds()
        .then((list) => {
          if (!live) return;
          setHolds((old) => (JSON.stringify(old) === JSON.stringify(list) ? old : list));
          setNow(Date.now());
        })
        .catch(() => undefined);
    };
    poll();
    const timer = window.setInterval(poll, POLL_MS);
    return () => {
      live = false;
      window.clearInterval(timer);
    };
  }, []);

  const hold = holds[0];
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
      setHolds((list) => list.filter((h) => h.id !== hold.id));
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
          {holds.length > 1 ? ` ${holds.length - 1} more waiting.` : ""}
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
