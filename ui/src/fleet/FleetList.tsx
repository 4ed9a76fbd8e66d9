import { memo, useEffect, useLayoutEffect, useRef, useState } from "react";
import type { FleetRow } from "../bindings/FleetRow";
import { visibleRows } from "../templates/virtual";
import { ago, clockLabel, stateLabel } from "./fleet";

/** Height of one row in pixels; fixed so that windowing is exact. */
export const ROW_HEIGHT = 56;

interface Props {
  rows: FleetRow[];
  /** Index of the keyboard cursor in `rows`. */
  cursor: number;
  openId: string | null;
  selected: Set<string>;
  /** Names with a launch or stop under way from this window. */
  busy: Set<string>;
  onToggle: (r: FleetRow) => void;
  onOpen: (r: FleetRow) => void;
  onLaunch: (r: FleetRow) => void;
  onStop: (r: FleetRow) => void;
  /** performance.now() of the pushed event these rows answer (for the latency figure). */
  eventAt: number | null;
}

function exitKind(exit: string): string {
  const i = exit.indexOf("://");
  return i < 0 ? exit : exit.slice(0, i);
}

interface RowProps {
  r: FleetRow;
  cursor: boolean;
  open: boolean;
  selected: boolean;
  busy: boolean;
  onToggle: (r: FleetRow) => void;
  onOpen: (r: FleetRow) => void;
  onLaunch: (r: FleetRow) => void;
  onStop: (r: FleetRow) => void;
}

/** One row; memoised, so a reload re-renders only rows whose data changed. */
const Row = memo(function Row({ r, cursor, open, selected, busy, onToggle, onOpen, onLaunch, onStop }: RowProps) {
  const live = r.state === "running" || r.state === "starting";
  const risk = r.risk.open ? r.risk.reasons.map((x) => x.detail).join("; ") || "risk window open" : "";
  return (
    <div
      className={"row fleet-row" + (open ? " selected" : "") + (cursor ? " cursor" : "") + (r.risk.open ? " at-risk" : "")}
      style={{ height: ROW_HEIGHT }}
      onClick={() => onOpen(r)}
      role="option"
      aria-selected={open}
      id={`row-${r.template_id}`}
      data-testid="template-row"
      data-name={r.name}
      data-state={r.state}
      data-risk={r.risk.open ? "open" : "closed"}
      data-health={r.health}
    >
      <div className="row-main">
        <input
          type="checkbox"
          checked={selected}
          aria-label={`Select ${r.name}`}
          data-testid="row-select"
          onClick={(e) => e.stopPropagation()}
          onChange={() => onToggle(r)}
        />
        <span className="row-name">{r.name}</span>
        {r.account && <span className="row-account">{r.account}</span>}
        <span className={"state state-" + r.state} data-testid="row-state">
          {r.state === "running" ? "● " : ""}
          {stateLabel(r)}
        </span>
        {r.risk.open && (
          <span className="badge badge-risk" data-testid="row-risk" title={risk}>
            ⚠ {risk}
          </span>
        )}
        <span
          className={"health health-" + r.health}
          data-testid="row-health"
          title="last 5 min: failed requests and 401s"
          aria-label={`health ${r.health}: ${r.failures_5m} failures, ${r.unauthorized_5m} 401s in 5 min`}
        >
          {r.health === "idle" ? "idle" : `${r.failures_5m} fail · ${r.unauthorized_5m}×401`}
        </span>
        <span className="row-spacer" />
        {live ? (
          <button
            type="button"
            className="row-stop"
            data-testid="row-stop"
            disabled={busy || r.state === "starting"}
            onClick={(e) => {
              e.stopPropagation();
              onStop(r);
            }}
          >
            {busy ? "…" : "Stop"}
          </button>
        ) : (
          <button
            type="button"
            className="row-launch"
            data-testid="row-launch"
            disabled={busy || r.state === "elsewhere"}
            onClick={(e) => {
              e.stopPropagation();
              onLaunch(r);
            }}
          >
            {busy ? "…" : "Launch"}
          </button>
        )}
      </div>
      <div className="row-meta">
        <span className={"chip exit-" + exitKind(r.exit)} title={r.exit}>
          {r.exit}
        </span>
        <span
          className={"egress egress-" + (r.pin_mismatch ? "changed" : r.egress_ip ? "ok" : "unknown")}
          data-testid="row-egress"
          data-state={r.pin_mismatch ? "changed" : r.egress_ip ? "ok" : "unknown"}
          title={r.pin_mismatch ? `egress differs from the pin ${r.pinned_egress_ip ?? ""}` : "egress"}
        >
          {r.egress_ip ?? r.pinned_egress_ip ?? "not checked"}
          {r.pin_mismatch ? ` ⚠ pin ${r.pinned_egress_ip}` : ""}
        </span>
        {r.clock_offset_ms !== null && (
          <span className="muted" title="clock offset of the session">
            clock {clockLabel(r.clock_offset_ms)}
          </span>
        )}
        <span className="muted">launched {ago(r.last_launched)}</span>
        {r.tags.map((tag) => (
          <span key={tag} className="tag">
            {tag}
          </span>
        ))}
      </div>
    </div>
  );
});

/** The fleet: windowed rows (only those in view are in the DOM, so thousands stay fluid). */
export function FleetList({ rows, cursor, openId, selected, busy, onToggle, onOpen, onLaunch, onStop, eventAt }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(600);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setViewport(el.clientHeight));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  // Keep the keyboard cursor in view.
  useEffect(() => {
    const el = scroller.current;
    if (!el || cursor < 0) return;
    const top = cursor * ROW_HEIGHT;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + ROW_HEIGHT > el.scrollTop + el.clientHeight) el.scrollTop = top + ROW_HEIGHT - el.clientHeight;
  }, [cursor]);

  // Time from a pushed event to the rows it changed being committed (they render together with
  // `eventAt`): read by the e2e test.
  useEffect(() => {
    if (eventAt !== null && scroller.current) {
      scroller.current.dataset.eventLatencyMs = String(Math.round(performance.now() - eventAt));
    }
  }, [eventAt]);

  const w = visibleRows(scrollTop, viewport, ROW_HEIGHT, rows.length);
  return (
    <div
      className="list"
      ref={scroller}
      onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
      data-testid="template-list"
      data-count={rows.length}
      role="listbox"
      aria-label="Fleet"
      aria-activedescendant={rows[cursor] ? `row-${rows[cursor].template_id}` : undefined}
      tabIndex={0}
    >
      <div style={{ height: w.totalHeight, position: "relative" }}>
        <div style={{ transform: `translateY(${w.offsetTop}px)` }}>
          {rows.slice(w.start, w.end).map((r, i) => (
            <Row
              key={r.template_id}
              r={r}
              cursor={w.start + i === cursor}
              open={r.template_id === openId}
              selected={selected.has(r.template_id)}
              busy={busy.has(r.name)}
              onToggle={onToggle}
              onOpen={onOpen}
              onLaunch={onLaunch}
              onStop={onStop}
            />
          ))}
        </div>
      </div>
    </div>
  );
}
