/** A panel's live data: loaded now and, while the session runs, again every few seconds. */
import { useCallback, useEffect, useState } from "react";
import { toErrorPayload } from "./errors";

/**
 * `load(key)` now and, while `live`, every `everyMs`. Keeps the last value (an equal answer keeps
 * the same object, so nothing re-renders: a re-render would also reset a field that was changed
 * without an input event, as WebDriver's clear() does) and the last error message (cleared by a
 * success). `reload()` loads again at once. `load` must be stable (a module-level function): it
 * is an effect dependency.
 */
export function usePolled<T>(
  load: (key: string) => Promise<T>,
  key: string,
  live: boolean,
  everyMs = 2000,
): { value: T | null; error: string | null; reload: () => void } {
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [round, setRound] = useState(0);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  useEffect(() => {
    let alive = true;
    const run = () =>
      load(key)
        .then((v) => {
          if (alive) {
            setValue((old) => (JSON.stringify(old) === JSON.stringify(v) ? old : v));
            setError(null);
          }
        })
        .catch((e: unknown) => {
          if (alive) setError(toErrorPayload(e).message);
        });
    void run();
    const timer = live ? window.setInterval(() => void run(), everyMs) : undefined;
    return () => {
      alive = false;
      if (timer !== undefined) window.clearInterval(timer);
    };
  }, [load, key, live, everyMs, round]);
  return { value, error, reload };
}
