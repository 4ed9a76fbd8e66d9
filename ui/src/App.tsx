import { useCallback, useEffect, useMemo, useState } from "react";
import { api } from "./api";
import type { EgressStatus } from "./bindings/EgressStatus";
import type { ErrorPayload } from "./bindings/ErrorPayload";
import type { Template } from "./bindings/Template";
import type { SessionInfo } from "./bindings/SessionInfo";
import { AuditPanel } from "./guard/AuditPanel";
import { BundlePanel } from "./bundles/BundlePanel";
import { HoldPrompt } from "./guard/HoldPrompt";
import { HealthPanel } from "./health/HealthPanel";
import { LaunchPanel, type LaunchState } from "./sessions/LaunchPanel";
import { SessionsPanel } from "./sessions/SessionsPanel";
import { TemplateEditor, type EditorMode } from "./templates/TemplateEditor";
import { TemplateList } from "./templates/TemplateList";
import { TeamBadge } from "./team/TeamBadge";
import { toErrorPayload } from "./shared/errors";
import { usePolled } from "./shared/usePolled";

const NO_SESSIONS: SessionInfo[] = [];
const loadSessions = () => api.listSessions();

/** Case-insensitive match on name, account, exit and tags. */
function matches(t: Template, q: string): boolean {
  if (q === "") return true;
  const needle = q.toLowerCase();
  return (
    t.name.toLowerCase().includes(needle) ||
    t.account.toLowerCase().includes(needle) ||
    t.exit.toLowerCase().includes(needle) ||
    t.tags.some((tag) => tag.toLowerCase().includes(needle))
  );
}

export function App() {
  const [templates, setTemplates] = useState<Template[] | null>(null);
  const [loadError, setLoadError] = useState<ErrorPayload | null>(null);
  const [query, setQuery] = useState("");
  const [mode, setMode] = useState<EditorMode | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [statuses, setStatuses] = useState<Map<string, EgressStatus>>(new Map());
  const [bundles, setBundles] = useState(false);
  // Sessions are live: browsers exit and other Holdfast processes launch on the same home.
  const polled = usePolled(loadSessions, "", true);
  const sessions = polled.value ?? NO_SESSIONS;
  const [launch, setLaunch] = useState<LaunchState | null>(null);
  const [stopping, setStopping] = useState<string | null>(null);

  useEffect(() => {
    const unlisten = api.onLaunchProgress((p) =>
      setLaunch((l) =>
        l && l.busy && l.name.toLowerCase() === p.template.toLowerCase()
          ? { ...l, step: p.step, preflight: p.preflight ?? l.preflight }
          : l,
      ),
    );
    return () => {
      void unlisten.then((f) => f());
    };
  }, []);

  const doLaunch = async (name: string, force: boolean, cdp: boolean) => {
    setLaunch({ name, busy: true, step: "lease", preflight: null, error: null });
    try {
      const r = await api.launchSession(name, { headless: false, force, cdp });
      setLaunch({ name, busy: false, step: "ready", preflight: r.preflight, error: null });
      setNotice(`Launched “${r.session.template}” (pid ${r.session.pid ?? "?"}).`);
      await reloadStatuses();
    } catch (e) {
      setLaunch((l) => ({ name, busy: false, step: null, preflight: l?.preflight ?? null, error: toErrorPayload(e) }));
    }
    polled.reload();
  };

  const doStop = async (name: string) => {
    setStopping(name);
    try {
      const info = await api.stopSession(name);
      setNotice(`Stopped “${info.template}”.`);
    } catch (e) {
      setNotice(`Could not stop “${name}”: ${toErrorPayload(e).message}`);
    } finally {
      setStopping(null);
      polled.reload();
    }
  };
  const runningIds = useMemo(() => new Set(sessions.map((s) => s.template_id)), [sessions]);

  const reloadStatuses = useCallback(async () => {
    try {
      const list = await api.exitStatuses();
      setStatuses(new Map(list.map((s) => [s.template_id, s.egress])));
    } catch {
      // The list still works without statuses; the editor shows check errors itself.
    }
  }, []);

  const reload = useCallback(async () => {
    try {
      setTemplates(await api.listTemplates());
      setLoadError(null);
    } catch (e) {
      setLoadError(toErrorPayload(e));
    }
  }, []);

  useEffect(() => {
    // In a team, a change by another member reloads the list as soon as it is pulled.
    const unlisten = api.onTemplatesChanged(() => void reload());
    return () => {
      void unlisten.then((f) => f());
    };
  }, [reload]);

  useEffect(() => {
    // Initial load: an external fetch whose result is written into state once it arrives.
    let live = true;
    api
      .listTemplates()
      .then((list) => live && setTemplates(list))
      .catch((e: unknown) => live && setLoadError(toErrorPayload(e)));
    api
      .exitStatuses()
      .then((list) => live && setStatuses(new Map(list.map((s) => [s.template_id, s.egress]))))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, []);

  const visible = useMemo(() => (templates ?? []).filter((t) => matches(t, query.trim())), [templates, query]);
  const selectedId = mode?.kind === "edit" ? mode.template.id : null;

  const onSaved = async (t: Template, verb: string) => {
    await reload();
    await reloadStatuses();
    setMode({ kind: "edit", template: t });
    setNotice(`${verb} “${t.name}”.`);
  };

  const onRemoved = async (message: string) => {
    await reload();
    setMode(null);
    setNotice(message);
  };

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
        <TeamBadge />
        <div className="actions">
          <input
            className="search"
            type="search"
            placeholder="Filter by name, account, exit or tag"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            data-testid="search"
            aria-label="Filter templates"
          />
          <button
            onClick={() => {
              setNotice(null);
              setMode(null);
              setBundles(true);
            }}
            data-testid="open-bundles"
          >
            Import / export
          </button>
          <button
            className="primary"
            onClick={() => {
              setNotice(null);
              setBundles(false);
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
      {loadError && (
        <div className="banner error" role="alert" data-testid="load-error">
          Could not load templates: {loadError.message}
        </div>
      )}

      <SessionsPanel
        sessions={sessions}
        onSelect={(name) => {
          const t = (templates ?? []).find((x) => x.name === name);
          if (t) {
            setBundles(false);
            setMode({ kind: "edit", template: t });
          }
        }}
      />

      <main className="content">
        <section className="list-pane" aria-label="Templates">
          <div className="list-head">
            <span>
              {templates === null ? "Loading…" : `${visible.length} of ${templates.length} templates`}
            </span>
          </div>
          {templates !== null && templates.length === 0 ? (
            <div className="empty" data-testid="empty-state">
              <h2>No environments yet</h2>
              <p>
                A template keeps one account in its own browser profile, behind one fixed exit, with a
                timezone and locale that fit it.
              </p>
              <button className="primary" onClick={() => setMode({ kind: "new" })}>
                Create the first template
              </button>
            </div>
          ) : (
            <TemplateList
              templates={visible}
              statuses={statuses}
              selectedId={selectedId}
              running={runningIds}
              onLaunch={(t) => {
                setNotice(null);
                setBundles(false);
                setMode({ kind: "edit", template: t });
                void doLaunch(t.name, false, false);
              }}
              onSelect={(t) => {
                setNotice(null);
                setBundles(false);
                setMode({ kind: "edit", template: t });
              }}
            />
          )}
        </section>
        <section className="detail-pane" aria-label="Editor">
          {bundles ? (
            <BundlePanel
              visibleNames={visible.map((t) => t.name)}
              onImported={async (message) => {
                await reload();
                await reloadStatuses();
                setNotice(message);
              }}
              onClose={() => setBundles(false)}
            />
          ) : mode ? (
            <TemplateEditor
              key={mode.kind === "edit" ? mode.template.id + mode.template.updated_at : "new"}
              mode={mode}
              onSaved={onSaved}
              onRemoved={onRemoved}
              onCancel={() => setMode(null)}
              status={mode.kind === "edit" ? (statuses.get(mode.template.id) ?? null) : null}
              onChecked={reloadStatuses}
              session={
                mode.kind === "edit" ? (
                  <>
                    <LaunchPanel
                      name={mode.template.name}
                      templateAutomation={mode.template.automation}
                      session={sessions.find((s) => s.template_id === mode.template.id) ?? null}
                      launch={launch}
                      onLaunch={(force, cdp) => void doLaunch(mode.template.name, force, cdp)}
                      onStop={() => void doStop(mode.template.name)}
                      stopping={stopping === mode.template.name}
                    />
                    <HealthPanel
                      name={mode.template.name}
                      running={sessions.some((s) => s.template_id === mode.template.id)}
                    />
                    <AuditPanel
                      name={mode.template.name}
                      running={sessions.some((s) => s.template_id === mode.template.id)}
                    />
                  </>
                ) : null
              }
            />
          ) : (
            <div className="placeholder">Select a template to edit it, or create a new one.</div>
          )}
        </section>
      </main>
      <HoldPrompt />
    </div>
  );
}
