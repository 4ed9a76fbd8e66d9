import { useState } from "react";
import { api } from "../api";
import { call } from "../ipc";
import type { ErrorPayload } from "../bindings/ErrorPayload";
import type { ImportPlan } from "../bindings/ImportPlan";
import type { OnConflict } from "../bindings/OnConflict";
import { toErrorPayload } from "../shared/errors";

interface Props {
  /** Names of the templates the list shows now (for "export the filtered templates"). */
  visibleNames: string[];
  onImported: (message: string) => Promise<void>;
  onClose: () => void;
}

/**
 * Opens the native file dialog (the shell's, in Rust). Export and import accept only the path
 * chosen there, so the file fields are read-only: a page cannot name a file by typing it.
 */
const choosePath = (purpose: "save" | "open") => call<string | null>("choose_bundle_path", { purpose });

const ACTION_LABEL: Record<string, string> = {
  add: "add",
  skip: "skip (name taken)",
  rename: "rename",
  replace: "replace",
};

/** Export templates to a bundle file, and import one with a preview of what will change. */
export function BundlePanel({ visibleNames, onImported, onClose }: Props) {
  const [scope, setScope] = useState<"all" | "visible">("all");
  const [exportPath, setExportPath] = useState("");
  const [withSecrets, setWithSecrets] = useState(false);
  const [exportPass, setExportPass] = useState("");
  const [exportResult, setExportResult] = useState<string | null>(null);

  const [importPath, setImportPath] = useState("");
  const [onConflict, setOnConflict] = useState<OnConflict>("skip");
  const [importPass, setImportPass] = useState("");
  const [plan, setPlan] = useState<ImportPlan | null>(null);
  const [allowWeaker, setAllowWeaker] = useState(false);

  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<ErrorPayload | null>(null);

  const run = async (what: string, f: () => Promise<void>) => {
    setBusy(what);
    setError(null);
    try {
      await f();
    } catch (e) {
      setError(toErrorPayload(e));
    } finally {
      setBusy(null);
    }
  };

  const chooseExport = () =>
    run("choose", async () => {
      const path = await choosePath("save");
      if (path) setExportPath(path);
    });
  const chooseImport = () =>
    run("choose", async () => {
      const path = await choosePath("open");
      if (path) {
        setImportPath(path);
        setPlan(null);
      }
    });

  const doExport = () =>
    run("export", async () => {
      const selection = scope === "all" ? { names: [], tags: [], all: true } : { names: visibleNames, tags: [], all: false };
      const s = await api.exportBundle(selection, exportPath, withSecrets ? exportPass : null);
      setExportResult(
        `Exported ${s.names.length} template(s) to ${s.path}` +
          (s.secrets > 0 ? ` with ${s.secrets} exit password(s), encrypted.` : " (no secrets)."),
      );
    });

  const preview = () =>
    run("preview", async () => {
      setPlan(await api.importBundle(importPath, onConflict, importPass || null, true, false));
      setAllowWeaker(false);
    });

  const doImport = () =>
    run("import", async () => {
      const done = await api.importBundle(importPath, onConflict, importPass || null, false, allowWeaker);
      setPlan(null);
      await onImported(
        `Imported: ${done.added} added, ${done.renamed} renamed, ${done.replaced} replaced, ${done.skipped} skipped.`,
      );
    });

  return (
    <div className="editor bundles" data-testid="bundle-panel">
      <h2>Bundles</h2>
      {error && (
        <div className="banner error" role="alert" data-testid="bundle-error" data-code={error.code}>
          {error.message}
        </div>
      )}

      <section aria-label="Export">
        <h3>Export</h3>
        <label className="field">
          <span>Templates</span>
          <select value={scope} onChange={(e) => setScope(e.target.value as "all" | "visible")} data-testid="export-scope">
            <option value="all">All templates</option>
            <option value="visible">The {visibleNames.length} shown in the list</option>
          </select>
        </label>
        <label className="field">
          <span>File</span>
          <div className="row-input">
            <input value={exportPath} readOnly placeholder="Choose a file…" data-testid="export-path" spellCheck={false} />
            <button type="button" onClick={chooseExport} disabled={busy !== null} data-testid="export-choose">
              Choose…
            </button>
          </div>
        </label>
        <label className="check">
          <input type="checkbox" checked={withSecrets} onChange={(e) => setWithSecrets(e.target.checked)} data-testid="export-secrets" />
          Include exit passwords, encrypted with a passphrase
        </label>
        {withSecrets && (
          <label className="field">
            <span>Passphrase (8+ characters; tell it to your teammate separately)</span>
            <input type="password" value={exportPass} onChange={(e) => setExportPass(e.target.value)} data-testid="export-passphrase" />
          </label>
        )}
        <button className="primary" type="button" disabled={!exportPath || busy !== null} onClick={doExport} data-testid="export-run">
          {busy === "export" ? "Exporting…" : "Export"}
        </button>
        {exportResult && (
          <div className="banner ok" role="status" data-testid="export-result">
            {exportResult}
          </div>
        )}
      </section>

      <section aria-label="Import">
        <h3>Import</h3>
        <label className="field">
          <span>File</span>
          <div className="row-input">
            <input value={importPath} readOnly placeholder="Choose a file…" data-testid="import-path" spellCheck={false} />
            <button type="button" onClick={chooseImport} disabled={busy !== null} data-testid="import-choose">
              Choose…
            </button>
          </div>
        </label>
        <label className="field">
          <span>When a name is taken</span>
          <select
            value={onConflict}
            onChange={(e) => {
              setOnConflict(e.target.value as OnConflict);
              setPlan(null);
            }}
            data-testid="import-conflict"
          >
            <option value="skip">Skip it (keep mine)</option>
            <option value="rename">Import under a new name</option>
            <option value="replace">Replace mine</option>
          </select>
        </label>
        <label className="field">
          <span>Passphrase (only if the bundle carries passwords)</span>
          <input type="password" value={importPass} onChange={(e) => setImportPass(e.target.value)} data-testid="import-passphrase" />
        </label>
        <button type="button" disabled={!importPath || busy !== null} onClick={preview} data-testid="import-preview">
          {busy === "preview" ? "Reading…" : "Preview"}
        </button>
        {plan && (
          <div className="plan" data-testid="import-plan">
            <p>
              {plan.added} to add, {plan.renamed} to rename, {plan.replaced} to replace, {plan.skipped} to skip.
              {plan.secrets === "not_imported" && " The bundle carries encrypted passwords: give the passphrase to restore them."}
              {plan.secrets === "imported" && " Exit passwords will go to the keyring."}
            </p>
            <table>
              <tbody>
                {plan.templates.slice(0, 200).map((t) => (
                  <tr key={t.name} data-testid="plan-row" data-action={t.action}>
                    <td>{ACTION_LABEL[t.action]}</td>
                    <td>{t.final_name !== t.name ? `${t.name} → ${t.final_name}` : t.name}</td>
                    <td className="muted">{t.exit}</td>
                    <td>{t.with_secret ? "🔑" : ""}</td>
                    <td>
                      {t.weaker && (
                        <span className="warning" data-testid="plan-weaker">
                          ⚠ weaker: {t.weaker}
                        </span>
                      )}
                      {t.secret_refused && (
                        <span className="muted" data-testid="plan-secret-refused">
                          {" "}
                          password not imported: {t.secret_refused}
                        </span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {plan.templates.some((t) => t.weaker) && (
              <label className="warning">
                <input
                  type="checkbox"
                  checked={allowWeaker}
                  onChange={(e) => setAllowWeaker(e.target.checked)}
                  data-testid="import-allow-weaker"
                />{" "}
                Replace them anyway: the marked templates lose their proxy or pinned egress IP.
              </label>
            )}
            {plan.templates.length > 200 && <p className="muted">…and {plan.templates.length - 200} more.</p>}
            <button className="primary" type="button" disabled={busy !== null} onClick={doImport} data-testid="import-run">
              {busy === "import" ? "Importing…" : "Import"}
            </button>
          </div>
        )}
      </section>
      <div className="buttons">
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </div>
  );
}
