// First: uPlot reads navigator.language when its module loads.
import "../shared/locale";
import { useEffect, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { api } from "../api";
import type { HealthSeries } from "../bindings/HealthSeries";
import { toErrorPayload } from "../shared/errors";
import { STAGES } from "./health";
import { columns } from "./series";

const WINDOWS = ["5m", "1h", "24h"] as const;
type Window = (typeof WINDOWS)[number];

const STAGE_COLORS: Record<string, string> = Object.fromEntries(STAGES.map((s) => [s.stage, s.color]));
const MARK_COLORS: Record<string, string> = { egress_change: "#f59f00", refresh_failed: "#e03131" };

interface Props {
  /** A template's name, or null for every account. */
  name: string | null;
  /** Changes when new data may exist (a pushed event); the chart reloads, at most every 2 s. */
  tick: number;
}

/**
 * Requests and failures per stage over 5 min / 1 h / 24 h (uPlot: a canvas, cheap to redraw),
 * with egress changes and failed refreshes marked as vertical lines on the time axis. Drag to
 * zoom in, double-click to zoom out.
 */
export function SeriesChart({ name, tick }: Props) {
  const [win, setWin] = useState<Window>("5m");
  const [series, setSeries] = useState<HealthSeries | null>(null);
  const [error, setError] = useState<string | null>(null);
  const box = useRef<HTMLDivElement>(null);
  const lastLoad = useRef(0);

  useEffect(() => {
    let alive = true;
    const wait = Math.max(0, lastLoad.current + 2000 - Date.now());
    const timer = window.setTimeout(() => {
      lastLoad.current = Date.now();
      api
        .healthSeries(name, win)
        .then((s) => {
          if (alive) {
            setSeries(s);
            setError(null);
          }
        })
        .catch((e: unknown) => alive && setError(toErrorPayload(e).message));
    }, wait);
    return () => {
      alive = false;
      window.clearTimeout(timer);
    };
  }, [name, win, tick]);

  useEffect(() => {
    const el = box.current;
    if (!el || !series) return;
    const c = columns(series);
    const marksPlugin: uPlot.Plugin = {
      hooks: {
        draw: (u) => {
          const ctx = u.ctx;
          ctx.save();
          ctx.lineWidth = 2 * devicePixelRatio;
          for (const m of c.marks) {
            const x = u.valToPos(m.at, "x", true);
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
            ctx.strokeStyle = MARK_COLORS[m.kind] ?? "#888";
            ctx.setLineDash(m.kind === "egress_change" ? [] : [4 * devicePixelRatio, 3 * devicePixelRatio]);
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
          }
          ctx.restore();
        },
      },
    };
    const dark = window.matchMedia?.("(prefers-color-scheme: dark)").matches ?? false;
    const axis = { stroke: dark ? "#c9d1d9" : "#444", grid: { stroke: dark ? "#30363d" : "#eee" } };
    const opts: uPlot.Options = {
      width: Math.max(300, el.clientWidth),
      height: 180,
      plugins: [marksPlugin],
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true } },
      axes: [axis, { ...axis, label: "requests / bucket" }],
      series: [
        {},
        { label: "requests", stroke: "#2f9e44", width: 1.5 },
        ...c.stages.map((s) => ({ label: s.stage, stroke: STAGE_COLORS[s.stage] ?? "#888", width: 1.5 })),
      ],
    };
    const plot = new uPlot(opts, [c.x, c.requests, ...c.stages.map((s) => s.values)], el);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(300, el.clientWidth), height: 180 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [series]);

  const failures = series?.points.reduce((n, p) => n + Object.values(p.failures).reduce((a, b) => a + b, 0), 0) ?? 0;
  return (
    <div className="series" data-testid="series-chart" data-window={win} data-marks={series?.marks.length ?? 0} data-failures={failures}>
      <div className="series-head">
        <span role="group" aria-label="Chart window">
          {WINDOWS.map((w) => (
            <button
              key={w}
              type="button"
              className={w === win ? "seg active" : "seg"}
              aria-pressed={w === win}
              onClick={() => setWin(w)}
              data-testid={`series-${w}`}
            >
              {w}
            </button>
          ))}
        </span>
        <span className="muted">
          {series ? `${series.marks.length} marks: ` : ""}
          <span style={{ color: MARK_COLORS.egress_change }}>│ egress change</span>{" "}
          <span style={{ color: MARK_COLORS.refresh_failed }}>┆ refresh failed</span> · drag to zoom, double-click to reset
        </span>
      </div>
      {error && <div className="banner error">{error}</div>}
      <div ref={box} className="series-plot" />
      {series && series.marks.length > 0 && (
        <ul className="marks" aria-label="Marked events">
          {series.marks.slice(-5).map((m, i) => (
            <li key={i} data-testid="series-mark" data-kind={m.kind}>
              {new Date(m.at).toLocaleTimeString()} {m.template}: {m.detail}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
