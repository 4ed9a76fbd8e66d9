/** Pure helpers of the health panel and charts: stage colours and formatting. */

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
