/** The template form's state, and its conversion to the core's draft and patch types. */
import type { Template } from "../bindings/Template";
import type { TemplateDraft } from "../bindings/TemplateDraft";
import type { TemplatePatch } from "../bindings/TemplatePatch";
import type { SensitiveRule } from "../bindings/SensitiveRule";
import type { TemplateRules } from "../bindings/TemplateRules";

/** What the editor's inputs hold: lists as text (one URL per line, comma-separated tags). */
export interface FormState {
  name: string;
  account: string;
  exit: string;
  exitPassword: string;
  pinnedEgressIp: string;
  timezone: string;
  locale: string;
  startUrls: string;
  tags: string;
  notes: string;
  /** Health rules: URL patterns, one per line. All three empty on a new template: defaults. */
  refreshRules: string;
  loginRules: string;
  verificationRules: string;
  /** Guard rules: `ACTION METHODS URL` per line, e.g. `payment POST,PUT <url pattern>`. */
  sensitiveRules: string;
  /** Open a DevTools port at every launch for automation tools. */
  automation: boolean;
  /** Refuse launches whose timezone or locale does not fit where the exit is. */
  requireConsistent: boolean;
}

/** An empty form for a new template, with the core's defaults shown. */
export function emptyForm(): FormState {
  return {
    name: "",
    account: "",
    exit: "direct",
    exitPassword: "",
    pinnedEgressIp: "",
    timezone: "UTC",
    locale: "en-US",
    startUrls: "",
    tags: "",
    notes: "",
    refreshRules: "",
    loginRules: "",
    verificationRules: "",
    sensitiveRules: "",
    automation: false,
    requireConsistent: false,
  };
}

/** The form filled from a stored template (the password stays in the keyring). */
export function formFromTemplate(t: Template): FormState {
  return {
    name: t.name,
    account: t.account,
    exit: t.exit,
    exitPassword: "",
    pinnedEgressIp: t.pinned_egress_ip ?? "",
    timezone: t.timezone,
    locale: t.locale,
    startUrls: t.start_urls.join("\n"),
    tags: t.tags.join(", "),
    notes: t.notes,
    refreshRules: t.rules.refresh.join("\n"),
    loginRules: t.rules.login.join("\n"),
    verificationRules: t.rules.verification.join("\n"),
    sensitiveRules: t.rules.sensitive.map(sensitiveLine).join("\n"),
    automation: t.automation,
    requireConsistent: t.require_consistent,
  };
}

/** Non-empty lines, trimmed. */
export function splitLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Comma-separated tags, trimmed, empties dropped. */
export function splitTags(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** A sensitive-action rule as one line of the editor. */
export function sensitiveLine(r: SensitiveRule): string {
  return `${r.action} ${r.methods.join(",")} ${r.url}`;
}

/**
 * One editor line as a rule. A line that is not `ACTION METHODS URL` is passed on as it is
 * (in `action`), so the core refuses it with `invalid_rule` at the field — one validator.
 */
export function parseSensitive(line: string): SensitiveRule {
  const [action, methods, url, ...rest] = line.split(/\s+/);
  if (action === undefined || methods === undefined || url === undefined || rest.length > 0) {
    return { action: line, methods: [], url: "" };
  }
  return { action, methods: methods.split(","), url };
}

/** The rules of the form; `undefined` (the core's defaults) when all four lists are empty. */
export function rulesFromForm(f: FormState): TemplateRules | undefined {
  const rules = {
    refresh: splitLines(f.refreshRules),
    login: splitLines(f.loginRules),
    verification: splitLines(f.verificationRules),
    sensitive: splitLines(f.sensitiveRules).map(parseSensitive),
  };
  const empty =
    rules.refresh.length + rules.login.length + rules.verification.length + rules.sensitive.length === 0;
  return empty ? undefined : rules;
}

/** A draft for `add_template`. Validation is the core's job; this only reshapes. */
export function draftFromForm(f: FormState): TemplateDraft {
  return {
    name: f.name,
    account: f.account,
    exit: f.exit,
    exit_password: f.exitPassword === "" ? undefined : f.exitPassword,
    pinned_egress_ip: f.pinnedEgressIp,
    timezone: f.timezone,
    locale: f.locale,
    start_urls: splitLines(f.startUrls),
    tags: splitTags(f.tags),
    notes: f.notes,
    rules: rulesFromForm(f),
    automation: f.automation,
    require_consistent: f.requireConsistent,
  };
}

/** A patch for `edit_template` that sets every field the form shows. */
export function patchFromForm(f: FormState): TemplatePatch {
  return { ...draftFromForm(f) };
}
