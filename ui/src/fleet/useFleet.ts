/** The fleet's rows, reloaded when the core pushes an event (polling only as a fallback). */
import { useCallback, useEffect, useRef, useState } from "react";
import { api } from "../api";
import type { FleetRow } from "../bindings/FleetRow";
import type { KeptEvent } from "../bindings/KeptEvent";
import { toErrorPayload } from "../shared/errors";
import { applyEvent, reuseUnchanged } from "./fleet";

/** Fallback reload when no event came (sessions of other processes, clocks moving on). */
const FALLBACK_MS = 15_000;

export interface Fleet {
  rows: FleetRow[] | null;
  error: string | null;
  /** Reloads now (coalesced with one in flight). */
  reload: () => void;
  /** performance.now() of the pushed event the current rows answer, if any. */
  eventAt: number | null;
}

/**
 * Loads the fleet once, then again on every pushed session event, launch step and template
 * change: at most one load in flight, and one more queued behind it however many events come.
 * `onEvent` sees each event too (the overview reloads on them as well).
 */
export function useFleet(onEvent?: (e: KeptEvent) => void): Fleet {
  const [rows, setRows] = useState<FleetRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [eventAt, setEventAt] = useState<number | null>(null);
  const onEventRef = useRef(onEvent);
  const loadRef = useRef<(at: number | null) => void>(() => undefined);
  useEffect(() => {
    onEventRef.current = onEvent;
  }, [onEvent]);

  useEffect(() => {
    let alive = true;
    let inFlight = false;
    // undefined: nothing queued; else the time of the oldest unanswered event (or null).
    let queued: number | null | undefined;
    let soon: number | undefined;
    const load = (at: number | null) => {
      if (inFlight) {
        // Keep the oldest unanswered event's time: the latency is measured from it.
        queued = queued ?? at;
        return;
      }
      inFlight = true;
      api
        .fleet()
        .then((fresh) => {
          if (!alive) return;
          setRows((old) => reuseUnchanged(old, fresh));
          if (at !== null) setEventAt(at);
          setError(null);
        })
        .catch((e: unknown) => alive && setError(toErrorPayload(e).message))
        .finally(() => {
          inFlight = false;
          if (alive && queued !== undefined) {
            const next = queued;
            queued = undefined;
            load(next);
          }
        });
    };
    loadRef.current = load;
    load(null);
    const unlisten = [
      api.onSessionEvent((e) => {
        onEventRef.current?.(e);
        // The row changes now; the reload behind it brings counts and egress.
        const at = performance.now();
        setRows((old) => (old ? applyEvent(old, e) : old));
        setEventAt(at);
        if (e.type !== "session") load(null);
        // A session's own events (requests failing, egress checked) come in bursts: their
        // counts are read at most once a second.
        else if (soon === undefined) soon = window.setTimeout(() => ((soon = undefined), load(null)), 1000);
      }),
      // A launch step: the row shows "starting" after the reload.
      api.onLaunchProgress((p) => p.step === "lease" && load(null)),
      api.onTemplatesChanged(() => load(null)),
      api.onEventsLagged(() => load(null)),
    ];
    const timer = window.setInterval(() => load(null), FALLBACK_MS);
    return () => {
      alive = false;
      window.clearInterval(timer);
      window.clearTimeout(soon);
      unlisten.forEach((u) => void u.then((f) => f()));
    };
  }, []);

  const reload = useCallback(() => loadRef.current(null), []);
  return { rows, error, reload, eventAt };
}
