import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api } from "./api";
import type { EgressStatus } from "./bindings/EgressStatus";
import type { ErrorPayload } from "./bindings/ErrorPayload";
import type { FleetRow } from "./bindings/FleetRow";
import type { Template } from "./bindings/Template";
import { BundlePanel } from "./bundles/BundlePanel";
import { BulkBar } from "./fleet/BulkBar";
import { runBulk, type BulkProgress } from "./fleet/bulk";
import { FleetFilters } from "./fleet/FleetFilters";
import { FleetList } from "./fleet/FleetList";
import { NO_FILTER, facets, view, type FleetFilter, type SortKey } from "./fleet/fleet";
import { useFleet } from "./fleet/useFleet";
import { AuditPanel } from "./guard/AuditPanel";
import { HoldPrompt } from "./guard/HoldPrompt";
import { HealthPanel } from "./health/HealthPanel";
import { Overview } from "./health/Overview";
import { LaunchPanel, type LaunchState } from "./sessions/LaunchPanel";
import { TeamBadge } from "./team/TeamBadge";
import { TemplateEditor, type EditorMode } from "./templates/TemplateEditor";
import { toErrorPayload } from "./shared/errors";
import { useKeys } from "./shared/useKeys";

type View = "fleet" | "overview";
const VIEWS: [View, string][] = [
  ["fleet", "Fleet"],
  ["overview", "Health overview"],
];

export function App() {
  const [view_, setView] = useState<View>("fleet");
  const [tick, setTick] = useState(0);
  const onEvent = useCallback(() => setTick((t) => t + 1), []);
  const fleet = useFleet(onEvent);
  const [filter, setFilter] = useState<FleetFilter>(NO_FILTER);
  const [sort, setSort] = useState<SortKey>("name");
  const [cursor, setCursor] = useState(0);
  const [mode, setMode] = useState<EditorMode | null>(null);
  const [bundles, setBundles] = useState<string[] | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [loadError, setLoadError] = useState<ErrorPayload | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [busy, setBusy] = useState<Set<string>>(new Set());
  const [bulk, setBulk] = useState<BulkProgress | null>(null);
  const bulkAbort = useRef<AbortController | null>(null);
  const [launch, setLaunch] = useState<LaunchState | null>(null);
  const [stopping, setStopping] = useState<string | null>(null);
  const search = useRef<HTMLInputElement>(null);
  const [stored, setStored] = useState<{ id: string; egress: EgressStatus | null } | null>(null);
  const [statusRound, setStatusRound] = useState(0);

  const rows = fleet.rows;
  const visible = useMemo(() => view(rows ?? [], filter, sort), [rows, filter, sort]);
  const facet = useMemo(() => facets(rows ?? []), [rows]);
  const openId = mode?.kind === "edit" ? mode.template.id : null;
  const openRow = rows?.find((r) => r.template_id === openId) ?? null;
  const here = Math.min(cursor, Math.max(0, visible.length - 1));

  useEffect(() => {
    const unlisten = api.onLaunchProgress((p) =>
      setLaunch((l) =>
        l && l.busy && l.name.toLowerCase() === p.template.toLowerCase()
          ? { ...l, step: p.step, preflight: p.preflight ?? l.preflight }
          : l,
      ),
    );
    return () => void unlisten.then((f) => f());
  }, []);

  const open = useCallback(async (name: string) => {
    setBundles(null);
    try {
      const t = await api.getTemplate(name);
      setMode({ kind: "edit", template: t });
      setLoadError(null);
    } catch (e) {
      setLoadError(toErrorPayload(e));
    }
  }, []);

  // The open template's stored egress, for its exit panel (read again after a check).
  useEffect(() => {
    if (openId === null) return;
    let alive = true;
    api
      .exitStatuses()
      .then((all) => alive && setStored({ id: openId, egress: all.find((s) => s.template_id === openId)?.egress ?? null }))
      .catch(() => undefined);
    return () => {
      alive = false;
    };
  }, [openId, statusRound]);
  // Until the stored status arrives the panel shows the template's own pin, not "not pinned".
  const status =
    stored && stored.id === openId
      ? stored.egress
      : mode?.kind === "edit"
        ? {
            ip: null,
            pinned: mode.template.pinned_egress_ip,
            changed: false,
            checked_at: null,
            via: null,
            previous: null,
            exit: mode.template.exit,
            country: null,
            timezone: null,
            previous_country: null,
          }
        : null;

  useEffect(() => {
    // A clicked notification brings the window up on that account.
    const unlisten = api.onFocusTemplate((name) => {
      setView("fleet");
      void open(name);
    });
    return () => void unlisten.then((f) => f());
  }, [open]);

  const mark = (name: string, on: boolean) =>
    setBusy((b) => {
      const n = new Set(b);
      if (on) n.add(name);
      else n.delete(name);
      return n;
    });

  const doLaunch = async (name: string, force: boolean, cdp: boolean) => {
    setLaunch({ name, busy: true, step: "lease", preflight: null, error: null });
    mark(name, true);
    try {
      const r = await api.launchSession(name, { headless: false, force, cdp });
      setLaunch({ name, busy: false, step: "ready", preflight: r.preflight, error: null });
      setNotice(`Launched “${r.session.template}” (pid ${r.session.pid ?? "?"}).`);
    } catch (e) {
      const error = toErrorPayload(e);
      setLaunch((l) => ({ name, busy: false, step: null, preflight: l?.preflight ?? null, error }));
      // The editor shows why, and offers "Launch anyway" where the refusal may be overridden.
      void open(name);
    } finally {
      mark(name, false);
      fleet.reload();
    }
  };

  const doStop = async (name: string) => {
    setStopping(name);
    mark(name, true);
    try {
      const info = await api.stopSession(name);
      setNotice(`Stopped “${info.template}”.`);
    } catch (e) {
      setNotice(`Could not stop “${name}”: ${toErrorPayload(e).message}`);
    } finally {
      setStopping(null);
      mark(name, false);
      fleet.reload();
    }
  };

  // Bulk work and export take the selected rows that the filter shows.
  const selectedNames = () => visible.filter((r) => selected.has(r.template_id)).map((r) => r.name);

  const startBulk = (verb: "launch" | "stop" | "check") => {
    const names = selectedNames();
    const ctl = new AbortController();
    bulkAbort.current = ctl;
    const work: Record<typeof verb, (n: string) => Promise<string>> = {
      launch: async (n) => `pid ${(await api.launchSession(n, { headless: false, force: false, cdp: false })).session.pid ?? "?"}`,
      stop: async (n) => {
        await api.stopSession(n);
        return "stopped";
      },
      check: async (n) => {
        const r = await api.checkExit(n);
        return `egress ${r.egress.ip ?? "?"}${r.egress.changed ? " (changed)" : ""}`;
      },
    };
    void runBulk(verb, names, work[verb], setBulk, ctl.signal).then(() => fleet.reload());
  };

  const toggle = useCallback(
    (r: FleetRow) =>
      setSelected((s) => {
        const n = new Set(s);
        if (n.has(r.template_id)) n.delete(r.template_id);
        else n.add(r.template_id);
        return n;
      }),
    [],
  );
  const openRowCb = useCallback(
    (r: FleetRow) => {
      setNotice(null);
      setCursor(visible.findIndex((x) => x.template_id === r.template_id));
      void open(r.name);
    },
    [open, visible],
  );
  // Row buttons: stable identities keep memoised rows from re-rendering.
  const actions = useRef<{ launch: (n: string) => void; stop: (n: string) => void }>({
    launch: () => undefined,
    stop: () => undefined,
  });
  useEffect(() => {
    actions.current = { launch: (n) => void doLaunch(n, false, false), stop: (n) => void doStop(n) };
  });
  const rowLaunch = useCallback((r: FleetRow) => actions.current.launch(r.name), []);
  const rowStop = useCallback((r: FleetRow) => actions.current.stop(r.name), []);

  useKeys({
    "/": () => search.current?.focus(),
    ArrowDown: () => setCursor(Math.min(visible.length - 1, here + 1)),
    ArrowUp: () => setCursor(Math.max(0, here - 1)),
    Enter: () => visible[here] && openRowCb(visible[here]),
    l: () => visible[here] && rowLaunch(visible[here]),
    s: () => visible[here] && rowStop(visible[here]),
    Escape: () => {
      setMode(null);
      setBundles(null);
    },
  });

  const onSaved = async (t: Template, verb: string) => {
    fleet.reload();
    setMode({ kind: "edit", template: t });
    setNotice(`${verb} “${t.name}”.`);
  };

  const onRemoved = async (message: string) => {
    fleet.reload();
    setMode(null);
    setNotice(message);
  };

  const drawer = bundles !== null || mode !== null;
  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <span className="logo" aria-hidden="true">
            ⚓
          </span>
          <div>
            <h1>Holdfast</h1>
            <p className="subtitle">Per-account browser environments</p>
          </div>
        </div>
        <nav className="views" aria-label="Views">
          {VIEWS.map(([v, label]) => (
            <button
              key={v}
              className={view_ === v ? "seg active" : "seg"}
              aria-pressed={view_ === v}
              onClick={() => setView(v)}
              data-testid={`view-${v}`}
            >
              {label}
            </button>
          ))}
        </nav>
        <TeamBadge />
        <div className="actions">
          <input
            ref={search}
            className="search"
            type="search"
            placeholder="Search ( / )"
            value={filter.query}
            onChange={(e) => setFilter({ ...filter, query: e.target.value })}
            data-testid="search"
            aria-label="Search templates by name, account, exit, egress or tag"
          />
          <button
            onClick={() => {
              setNotice(null);
              setMode(null);
              setBundles(visible.map((r) => r.name));
            }}
            data-testid="open-bundles"
          >
            Import / export
          </button>
          <button
            className="primary"
            onClick={() => {
              setNotice(null);
              setBundles(null);
              setMode({ kind: "new" });
            }}
            data-testid="add-template"
          >
            + New template
          </button>
        </div>
      </header>

      {notice && (
        <div className="notice" role="status" data-testid="notice">
          {notice}
          <button className="link" onClick={() => setNotice(null)} aria-label="Dismiss">
            ×
          </button>
        </div>
      )}
      {(loadError || fleet.error) && (
        <div className="banner error" role="alert" data-testid="load-error">
          Could not load templates: {loadError?.message ?? fleet.error}
        </div>
      )}

      <main className={"content" + (drawer ? " with-drawer" : "")}>
        {view_ === "overview" ? (
          <Overview tick={tick} onOpen={(name) => void open(name)} />
        ) : (
          <section className="list-pane" aria-label="Fleet">
            <FleetFilters
              filter={filter}
              sort={sort}
              facets={facet}
              onFilter={setFilter}
              onSort={setSort}
              shown={visible.length}
              total={rows?.length ?? null}
              allSelected={visible.length > 0 && visible.every((r) => selected.has(r.template_id))}
              onSelectAll={(on) => setSelected(on ? new Set(visible.map((r) => r.template_id)) : new Set())}
            />
            {(selected.size > 0 || bulk) && (
              <BulkBar
                count={selected.size}
                progress={bulk}
                onRun={startBulk}
                onExport={() => {
                  setMode(null);
                  setBundles(selectedNames());
                }}
                onCancel={() => bulkAbort.current?.abort()}
                onClear={() => {
                  setSelected(new Set());
                  setBulk(null);
                }}
              />
            )}
            {rows !== null && rows.length === 0 ? (
              <div className="empty" data-testid="empty-state">
                <h2>No environments yet</h2>
                <p>
                  A template keeps one account in its own browser profile, behind one fixed exit, with a timezone and
                  locale that fit it.
                </p>
                <button className="primary" onClick={() => setMode({ kind: "new" })}>
                  Create the first template
                </button>
              </div>
            ) : (
              <FleetList
                rows={visible}
                cursor={here}
                openId={openId}
                selected={selected}
                busy={busy}
                onToggle={toggle}
                onOpen={openRowCb}
                onLaunch={rowLaunch}
                onStop={rowStop}
                eventAt={fleet.eventAt}
              />
            )}
          </section>
        )}
        {drawer && (
          <aside className="drawer detail-pane" aria-label={bundles !== null ? "Import and export" : "Editor"}>
            <button className="link drawer-close" onClick={() => (setMode(null), setBundles(null))} aria-label="Close">
              × Close
            </button>
            {bundles !== null ? (
              <BundlePanel
                visibleNames={bundles}
                onImported={async (message) => {
                  fleet.reload();
                  setNotice(message);
                }}
                onClose={() => setBundles(null)}
              />
            ) : mode ? (
              <TemplateEditor
                key={mode.kind === "edit" ? mode.template.id + mode.template.updated_at : "new"}
                mode={mode}
                onSaved={onSaved}
                onRemoved={onRemoved}
                onCancel={() => setMode(null)}
                status={status}
                onChecked={async () => {
                  fleet.reload();
                  setStatusRound((r) => r + 1);
                }}
                session={
                  mode.kind === "edit" ? (
                    <>
                      <LaunchPanel
                        name={mode.template.name}
                        templateAutomation={mode.template.automation}
                        session={openRow?.session ?? null}
                        launch={launch}
                        onLaunch={(force, cdp) => void doLaunch(mode.template.name, force, cdp)}
                        onStop={() => void doStop(mode.template.name)}
                        stopping={stopping === mode.template.name}
                      />
                      <HealthPanel name={mode.template.name} running={openRow?.state === "running"} />
                      <AuditPanel name={mode.template.name} running={openRow?.state === "running"} />
                    </>
                  ) : null
                }
              />
            ) : null}
          </aside>
        )}
      </main>
      <HoldPrompt />
    </div>
  );
}
