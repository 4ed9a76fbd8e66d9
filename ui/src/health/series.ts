/** Turning a HealthSeries into uPlot's columns (unit-tested without a canvas). */
import type { HealthSeries } from "../bindings/HealthSeries";
import { STAGES } from "./health";

const ORDER = STAGES.map((s) => s.stage);

export interface Columns {
  /** x: bucket starts in Unix seconds, one per bucket of the window (empty buckets are zeros). */
  x: number[];
  requests: number[];
  /** Failures per stage, aligned with x; only stages that failed at least once. */
  stages: { stage: string; values: number[] }[];
  /** Marks in Unix seconds. */
  marks: { at: number; kind: string; label: string }[];
}

/** Every bucket of the window, so a quiet minute shows as zero rather than as a gap. */
export function columns(s: HealthSeries): Columns {
  const from = Math.floor(Date.parse(s.from) / 1000);
  const to = Math.floor(Date.parse(s.to) / 1000);
  const step = Math.max(1, s.bucket_secs);
  const first = Math.floor(from / step) * step;
  const x: number[] = [];
  for (let t = first; t <= to; t += step) x.push(t);
  const index = new Map(x.map((t, i) => [t, i]));
  const requests = x.map(() => 0);
  const byStage = new Map<string, number[]>();
  for (const p of s.points) {
    const i = index.get(Math.floor(Date.parse(p.at) / 1000));
    if (i === undefined) continue;
    requests[i] = (requests[i] ?? 0) + p.requests;
    for (const [stage, n] of Object.entries(p.failures)) {
      const values = byStage.get(stage) ?? x.map(() => 0);
      byStage.set(stage, values);
      values[i] = (values[i] ?? 0) + n;
    }
  }
  const stages = [...byStage.entries()]
    .sort(([a], [b]) => ORDER.indexOf(a) - ORDER.indexOf(b))
    .map(([stage, values]) => ({ stage, values }));
  const marks = s.marks.map((m) => ({
    at: Date.parse(m.at) / 1000,
    kind: m.kind,
    label: `${m.template}: ${m.detail}`,
  }));
  return { x, requests, stages, marks };
}
