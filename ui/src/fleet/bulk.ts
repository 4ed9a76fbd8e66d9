/** Bulk work over selected rows: a few at a time, a result per item, cancellable. */
import { toErrorPayload } from "../shared/errors";

/** One item's result. */
export interface BulkResult {
  name: string;
  ok: boolean;
  /** What happened, or the error's message. */
  detail: string;
  /** The error's stable code, when it failed. */
  code?: string;
}

/** Progress of one bulk run. */
export interface BulkProgress {
  verb: string;
  total: number;
  done: number;
  results: BulkResult[];
  running: boolean;
  cancelled: boolean;
}

/**
 * Runs `work` on every name, `concurrency` at a time, reporting after each item. Cancelling the
 * signal starts no further item (items under way finish: a half-launched browser is not
 * abandoned); the ones not started are reported as cancelled.
 */
export async function runBulk(
  verb: string,
  names: string[],
  work: (name: string) => Promise<string>,
  onProgress: (p: BulkProgress) => void,
  signal: AbortSignal,
  concurrency = 3,
): Promise<BulkProgress> {
  const results: BulkResult[] = [];
  let next = 0;
  const report = (running: boolean) =>
    onProgress({ verb, total: names.length, done: results.length, results: [...results], running, cancelled: signal.aborted });
  report(true);
  const worker = async () => {
    while (next < names.length && !signal.aborted) {
      const name = names[next++];
      if (name === undefined) break;
      try {
        results.push({ name, ok: true, detail: await work(name) });
      } catch (e) {
        const err = toErrorPayload(e);
        results.push({ name, ok: false, detail: err.message, code: err.code });
      }
      report(true);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, names.length)) }, worker));
  for (const name of names.slice(next)) {
    results.push({ name, ok: false, detail: "cancelled", code: "cancelled" });
  }
  const last = {
    verb,
    total: names.length,
    done: results.length,
    results,
    running: false,
    cancelled: signal.aborted,
  };
  onProgress(last);
  return last;
}
