/** Pure helpers of the health panel: formatting and the chart's geometry. */
import type { SeriesPoint } from "../bindings/SeriesPoint";

/** Stages in display order, each with its chart colour. */
export const STAGES: readonly { stage: string; color: string }[] = [
  { stage: "tcp_connect", color: "#c0392b" },
  { stage: "proxy", color: "#e67e22" },
  { stage: "tls", color: "#8e44ad" },
  { stage: "first_byte", color: "#d35400" },
  { stage: "mid_stream", color: "#a04000" },
  { stage: "http", color: "#2980b9" },
  { stage: "auth", color: "#b7950b" },
];

/** `12.5%`, or a dash when there was nothing to divide. */
export function pct(v: number | null | undefined): string {
  return v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)}%`;
}

/** `42 ms`, or a dash. */
export function ms(v: number | null | undefined): string {
  return v === null || v === undefined ? "–" : `${Math.round(v)} ms`;
}

/** One bar of the chart: the ok part and one segment per failing stage, in pixels. */
export interface Bar {
  x: number;
  width: number;
  ok: number;
  segments: { stage: string; color: string; height: number }[];
  title: string;
}

/** Buckets across a chart (the core's time series has at most this many). */
export const BUCKETS = 60;

/**
 * Bars for `series` placed by time between `from` and `to` (ms since the epoch) in a
 * `width` × `height` box, scaled to the busiest bucket. Empty buckets are not in the series.
 */
export function bars(series: SeriesPoint[], from: number, to: number, width: number, height: number): Bar[] {
  if (series.length === 0 || to <= from) return [];
  const max = Math.max(1, ...series.map((p) => p.requests));
  const w = width / BUCKETS;
  return series.map((p) => {
    const failed = STAGES.map(({ stage, color }) => ({
      stage,
      color,
      height: ((p.failures[stage] ?? 0) / max) * height,
    })).filter((s) => s.height > 0);
    const failedCount = Object.values(p.failures).reduce((a, b) => a + (b ?? 0), 0);
    const ok = (Math.max(0, p.requests - failedCount) / max) * height;
    const parts = Object.entries(p.failures)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
    const x = ((Date.parse(p.at) - from) / (to - from)) * width;
    return {
      x: Math.min(Math.max(0, x), width - w),
      width: Math.max(1, w - 1),
      ok,
      segments: failed,
      title: `${p.at}: ${p.requests} requests${parts ? `; failed: ${parts}` : ""}`,
    };
  });
}
