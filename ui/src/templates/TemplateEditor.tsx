import { useState, type ReactNode } from "react";
import { api } from "../api";
import type { EgressStatus } from "../bindings/EgressStatus";
import type { ErrorPayload } from "../bindings/ErrorPayload";
import type { ExitFit } from "../bindings/ExitFit";
import type { Template } from "../bindings/Template";
import { fieldForCode, toErrorPayload, type FormField } from "../shared/errors";
import { ExitStatusPanel } from "../exits/ExitStatusPanel";
import { draftFromForm, emptyForm, formFromTemplate, patchFromForm, type FormState } from "./form";

/** Creating a template, or editing a stored one. */
export type EditorMode = { kind: "new" } | { kind: "edit"; template: Template };

interface Props {
  mode: EditorMode;
  onSaved: (t: Template, verb: string) => Promise<void>;
  onRemoved: (message: string) => Promise<void>;
  onCancel: () => void;
  /** The stored egress status of the template being edited. */
  status?: EgressStatus | null;
  /** Called after "Check exit" so the list shows the new status. */
  onChecked?: () => Promise<void>;
  /** The session controls of the template being edited. */
  session?: ReactNode;
}

// Offer the zones the engine knows as suggestions; the core still validates the value.
const TIMEZONES: string[] = (() => {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return [];
  }
})();

export function TemplateEditor({ mode, onSaved, onRemoved, onCancel, status = null, onChecked, session }: Props) {
  const [form, setForm] = useState<FormState>(() =>
    mode.kind === "edit" ? formFromTemplate(mode.template) : emptyForm(),
  );
  const [fieldErrors, setFieldErrors] = useState<Partial<Record<FormField, string>>>({});
  const [formError, setFormError] = useState<ErrorPayload | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [purge, setPurge] = useState(false);
  /** Where the exit is, once "Match the exit" asked; the fields then hold what fits it. */
  const [fit, setFit] = useState<ExitFit | null>(null);
  const [fitting, setFitting] = useState(false);
  /** The version the form started from: a save fails with edit_conflict if another came in. */
  const [base, setBase] = useState<number | undefined>(mode.kind === "edit" ? mode.template.version : undefined);

  const set = (key: keyof FormState) => (e: { target: { value: string } }) =>
    setForm((f) => ({ ...f, [key]: e.target.value }));

  const showError = (e: unknown) => {
    const p = toErrorPayload(e);
    const field = fieldForCode(p.code, p.field);
    if (field) {
      setFieldErrors({ [field]: p.message });
      setFormError(null);
    } else {
      setFieldErrors({});
      setFormError(p);
    }
  };

  const submit = async (baseVersion: number | undefined) => {
    setBusy(true);
    try {
      const saved =
        mode.kind === "new"
          ? await api.addTemplate(draftFromForm(form))
          : await api.editTemplate(mode.template.name, { ...patchFromForm(form), base_version: baseVersion });
      setFieldErrors({});
      setFormError(null);
      await onSaved(saved, mode.kind === "new" ? "Added" : "Saved");
    } catch (e) {
      showError(e);
    } finally {
      setBusy(false);
    }
  };

  const save = (ev: React.FormEvent) => {
    ev.preventDefault();
    void submit(base);
  };

  /** After an edit_conflict: show the stored template (dropping this form's changes)… */
  const reloadTheirs = async () => {
    if (mode.kind !== "edit") return;
    try {
      const t = await api.getTemplate(mode.template.name);
      setForm(formFromTemplate(t));
      setBase(t.version);
      setFormError(null);
    } catch (e) {
      showError(e);
    }
  };

  /** …or apply this form's values on top of the version stored now. */
  const applyMine = async () => {
    if (mode.kind !== "edit") return;
    try {
      const t = await api.getTemplate(mode.template.name);
      setBase(t.version);
      await submit(t.version);
    } catch (e) {
      showError(e);
    }
  };

  /** Asks (through the exit) where it is, and fills the timezone and locale that fit it. */
  const matchExit = async () => {
    if (mode.kind !== "edit") return;
    setFitting(true);
    try {
      const f = await api.exitFit(mode.template.name);
      setFit(f);
      setForm((s) => ({ ...s, timezone: f.timezone, locale: f.locale }));
      setFormError(null);
    } catch (e) {
      showError(e);
    } finally {
      setFitting(false);
    }
  };

  const remove = async () => {
    if (mode.kind !== "edit") return;
    setBusy(true);
    try {
      const r = await api.removeTemplate(mode.template.name, purge);
      await onRemoved(
        r.profile_kept
          ? `Removed “${r.template.name}”. Its browser profile is kept at ${r.profile_dir}.`
          : `Removed “${r.template.name}”.`,
      );
    } catch (e) {
      showError(e);
      setBusy(false);
    }
  };

  const field = (name: FormField, label: string, input: ReactNode, hint?: string) => (
    <label className={"field" + (fieldErrors[name] ? " invalid" : "")}>
      <span className="label">{label}</span>
      {input}
      {fieldErrors[name] ? (
        <span className="field-error" role="alert" data-testid={`error-${name}`}>
          {fieldErrors[name]}
        </span>
      ) : (
        hint && <span className="hint">{hint}</span>
      )}
    </label>
  );

  const hasPassword = mode.kind === "edit" && mode.template.exit_has_password;

  return (
    <form className="editor" onSubmit={save} noValidate data-testid="editor">
      <h2>{mode.kind === "new" ? "New template" : mode.template.name}</h2>
      {formError && (
        <div className="banner error" role="alert" data-testid="form-error" data-code={formError.code}>
          {formError.message}
          {formError.code === "edit_conflict" && (
            <div className="buttons">
              <button type="button" onClick={() => void reloadTheirs()} data-testid="conflict-reload">
                Reload the stored template
              </button>
              <button type="button" onClick={() => void applyMine()} data-testid="conflict-reapply">
                Apply my changes on top
              </button>
            </div>
          )}
        </div>
      )}
      {mode.kind === "edit" && (
        <ExitStatusPanel name={mode.template.name} status={status} onChecked={onChecked ?? (async () => {})} />
      )}
      {mode.kind === "edit" && session}
      <div className="grid">
        {field("name", "Name", <input value={form.name} onChange={set("name")} data-testid="field-name" autoFocus />)}
        {field(
          "account",
          "Account",
          <input value={form.account} onChange={set("account")} data-testid="field-account" />,
          "The login this environment holds.",
        )}
        {field(
          "exit",
          "Exit",
          <input value={form.exit} onChange={set("exit")} data-testid="field-exit" spellCheck={false} />,
          "direct, http://user@host:port or socks5://user@host:port",
        )}
        {field(
          "exit_password",
          "Exit password",
          <input
            type="password"
            value={form.exitPassword}
            onChange={set("exitPassword")}
            data-testid="field-exit-password"
            placeholder={hasPassword ? "•••••• (kept in keyring)" : ""}
            autoComplete="new-password"
          />,
          "Stored in the OS keyring only.",
        )}
        {field(
          "timezone",
          "Timezone",
          <input value={form.timezone} onChange={set("timezone")} list="tz-list" data-testid="field-timezone" />,
          "IANA name, e.g. Europe/Berlin",
        )}
        {field(
          "locale",
          "Locale",
          <input value={form.locale} onChange={set("locale")} data-testid="field-locale" />,
          "BCP 47 tag, e.g. de-DE",
        )}
        {mode.kind === "edit" && (
          <div className="field exit-fit" data-testid="exit-fit">
            <span className="label">Where the exit is</span>
            <span data-testid="exit-location">
              {fit
                ? `${fit.country} · ${fit.timezone}`
                : status?.country || status?.timezone
                  ? `${status.country ?? "?"} · ${status.timezone ?? "?"} (last check)`
                  : "not known yet"}
            </span>
            <button type="button" onClick={() => void matchExit()} disabled={fitting || busy} data-testid="match-exit">
              {fitting ? "Asking the exit…" : "Match the exit"}
            </button>
            {fit && (
              <span className="hint" role="status" data-testid="exit-fit-result">
                Timezone {fit.current_timezone} → {fit.timezone}, locale {fit.current_locale} → {fit.locale} (per{" "}
                {fit.source}). Save to keep.
              </span>
            )}
          </div>
        )}
        {field(
          "pinned_egress_ip",
          "Pinned egress IP",
          <input value={form.pinnedEgressIp} onChange={set("pinnedEgressIp")} data-testid="field-pin" />,
          "The IP this exit must leave from (optional).",
        )}
        {field(
          "tags",
          "Tags",
          <input value={form.tags} onChange={set("tags")} data-testid="field-tags" />,
          "Comma-separated.",
        )}
      </div>
      {field(
        "start_urls",
        "Start URLs",
        <textarea rows={3} value={form.startUrls} onChange={set("startUrls")} data-testid="field-start-urls" />,
        "One http(s) URL per line.",
      )}
      {field("notes", "Notes", <textarea rows={3} value={form.notes} onChange={set("notes")} data-testid="field-notes" />)}
      <fieldset className="rules">
        <legend>Health rules — URL patterns, one per line (* matches anything)</legend>
        {field(
          "rules.refresh",
          "Token refresh",
          <textarea rows={2} value={form.refreshRules} onChange={set("refreshRules")} data-testid="field-rules-refresh" />,
          "A failed refresh opens a risk window.",
        )}
        {field(
          "rules.login",
          "Login pages",
          <textarea rows={2} value={form.loginRules} onChange={set("loginRules")} data-testid="field-rules-login" />,
          "A redirect here means the session was logged out.",
        )}
        {field(
          "rules.verification",
          "Second verification",
          <textarea rows={2} value={form.verificationRules} onChange={set("verificationRules")} data-testid="field-rules-verification" />,
          "Challenge, 2FA, captcha pages.",
        )}
      </fieldset>
      <fieldset className="rules">
        <legend>Guard — sensitive actions held for confirmation in a risk window</legend>
        {field(
          "rules.sensitive",
          "Sensitive actions",
          <textarea rows={4} value={form.sensitiveRules} onChange={set("sensitiveRules")} data-testid="field-rules-sensitive" />,
          "One per line: ACTION METHODS URL, e.g. “payment POST,PUT */checkout*” (methods comma-separated, * for any). Empty: nothing is held. On a new template, leave all rule lists empty for the defaults.",
        )}
      </fieldset>
      <label className="check">
        <input
          type="checkbox"
          checked={form.automation}
          onChange={(e) => setForm((f) => ({ ...f, automation: e.target.checked }))}
          data-testid="field-automation"
        />{" "}
        Automation port at every launch — any program on this computer that finds the port can drive this browser
        and read its cookies; leave off unless a script needs it.
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={form.requireConsistent}
          onChange={(e) => setForm((f) => ({ ...f, requireConsistent: e.target.checked }))}
          data-testid="field-require-consistent"
        />{" "}
        Refuse to launch when the timezone or locale does not fit where the exit is (or where it is cannot be
        learned); off: only warn.
      </label>
      <datalist id="tz-list">
        {TIMEZONES.map((tz) => (
          <option key={tz} value={tz} />
        ))}
      </datalist>

      <div className="buttons">
        <button type="submit" className="primary" disabled={busy} data-testid="save">
          {mode.kind === "new" ? "Add template" : "Save changes"}
        </button>
        <button type="button" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
        {mode.kind === "edit" && !confirmDelete && (
          <button type="button" className="danger" onClick={() => setConfirmDelete(true)} data-testid="delete">
            Delete…
          </button>
        )}
      </div>
      {mode.kind === "edit" && confirmDelete && (
        <div className="confirm" data-testid="confirm-delete">
          <p>
            Delete “{mode.template.name}” and its keyring entry? The browser profile (cookies, storage) is kept unless
            you tick the box.
          </p>
          <label className="check">
            <input type="checkbox" checked={purge} onChange={(e) => setPurge(e.target.checked)} /> Also delete the
            browser profile
          </label>
          <div className="buttons">
            <button type="button" className="danger" onClick={remove} disabled={busy} data-testid="confirm-delete-yes">
              Delete
            </button>
            <button type="button" onClick={() => setConfirmDelete(false)} disabled={busy}>
              Keep
            </button>
          </div>
        </div>
      )}
    </form>
  );
}
