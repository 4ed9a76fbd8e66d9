import { useLayoutEffect, useRef, useState } from "react";
import type { EgressStatus } from "../bindings/EgressStatus";
import type { Template } from "../bindings/Template";
import { egressState } from "../exits/egress";
import { visibleRows } from "./virtual";

/** Height of one row in pixels; fixed so that windowing is exact. */
export const ROW_HEIGHT = 56;

interface Props {
  templates: Template[];
  /** Last seen egress per template id. */
  statuses?: Map<string, EgressStatus>;
  selectedId: string | null;
  onSelect: (t: Template) => void;
  /** Ids of templates with a running session. */
  running?: Set<string>;
  /** Launch from the row. */
  onLaunch?: (t: Template) => void;
}

function exitKind(exit: string): string {
  const i = exit.indexOf("://");
  return i < 0 ? exit : exit.slice(0, i);
}

/** A windowed list: only the rows in view (plus a margin) are in the DOM, so 10,000 stay fast. */
export function TemplateList({ templates, statuses, selectedId, onSelect, running, onLaunch }: Props) {
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

  const w = visibleRows(scrollTop, viewport, ROW_HEIGHT, templates.length);
  const rows = templates.slice(w.start, w.end);

  return (
    <div
      className="list"
      ref={scroller}
      onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
      data-testid="template-list"
      data-count={templates.length}
      role="listbox"
      aria-label="Templates"
    >
      <div style={{ height: w.totalHeight, position: "relative" }}>
        <div style={{ transform: `translateY(${w.offsetTop}px)` }}>
          {rows.map((t) => {
            const egress = statuses?.get(t.id) ?? null;
            const state = egressState(egress);
            return (
            <div
              key={t.id}
              className={"row" + (t.id === selectedId ? " selected" : "")}
              style={{ height: ROW_HEIGHT }}
              onClick={() => onSelect(t)}
              role="option"
              aria-selected={t.id === selectedId}
              data-testid="template-row"
              data-name={t.name}
            >
              <div className="row-main">
                <span className="row-name">{t.name}</span>
                {t.account && <span className="row-account">{t.account}</span>}
                {running?.has(t.id) ? (
                  <span className="badge badge-ok row-running" data-testid="row-running">
                    ● running
                  </span>
                ) : (
                  onLaunch && (
                    <button
                      type="button"
                      className="row-launch"
                      data-testid="row-launch"
                      onClick={(e) => {
                        e.stopPropagation();
                        onLaunch(t);
                      }}
                    >
                      Launch
                    </button>
                  )
                )}
              </div>
              <div className="row-meta">
                <span className={"chip exit-" + exitKind(t.exit)} title={t.exit}>
                  {t.exit}
                </span>
                <span
                  className={"egress egress-" + state}
                  data-testid="row-egress"
                  data-state={state}
                  title={state === "changed" ? `egress changed (pinned ${egress?.pinned ?? "-"})` : "last seen egress"}
                >
                  {egress?.ip ?? t.pinned_egress_ip ?? "not checked"}
                  {state === "changed" ? " ⚠" : ""}
                </span>
                <span className="muted">
                  {t.timezone} · {t.locale}
                </span>
                {t.tags.map((tag) => (
                  <span key={tag} className="tag">
                    {tag}
                  </span>
                ))}
              </div>
            </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
