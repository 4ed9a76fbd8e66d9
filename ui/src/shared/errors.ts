/** Maps core errors (by stable code, never by message text) to the form field they belong to. */
import type { ErrorCode } from "../bindings/ErrorCode";
import type { ErrorPayload } from "../bindings/ErrorPayload";

/** Fields of the template form that can carry an error. */
export type FormField =
  | "name"
  | "account"
  | "exit"
  | "exit_password"
  | "pinned_egress_ip"
  | "timezone"
  | "locale"
  | "start_urls"
  | "tags"
  | "notes"
  | "rules.refresh"
  | "rules.login"
  | "rules.verification"
  | "rules.sensitive";

const FORM_FIELDS: readonly FormField[] = [
  "name",
  "account",
  "exit",
  "exit_password",
  "pinned_egress_ip",
  "timezone",
  "locale",
  "start_urls",
  "tags",
  "notes",
  "rules.refresh",
  "rules.login",
  "rules.verification",
  "rules.sensitive",
];

/** The form field an error code belongs to; `null` for errors shown above the form. */
export function fieldForCode(code: ErrorCode, field: string | null): FormField | null {
  switch (code) {
    case "invalid_name":
    case "duplicate_name":
      return "name";
    case "invalid_timezone":
      return "timezone";
    case "invalid_locale":
      return "locale";
    case "invalid_exit":
    case "invalid_port":
    case "unsupported_scheme":
      return "exit";
    case "invalid_start_url":
      return "start_urls";
    case "invalid_egress_ip":
      return "pinned_egress_ip";
    case "keyring_unavailable":
      return "exit_password";
    case "invalid_text":
      // One code for several free-text fields; the payload names which.
      return FORM_FIELDS.find((f) => f === field) ?? null;
    case "template_not_found":
    case "keyring_error":
    case "store_error":
    case "io_error":
    case "home_unavailable":
    case "exit_unreachable":
    case "exit_auth_failed":
    case "egress_probe_failed":
    case "invalid_setting":
    case "relay_failed":
    case "bundle_format":
    case "bundle_version":
    case "bundle_too_large":
    case "bundle_invalid":
    case "bundle_duplicate_name":
    case "bundle_passphrase":
    case "nothing_selected":
    case "browser_not_found":
    case "browser_failed":
    case "already_running":
    case "profile_in_use":
    case "clock_skew":
    case "egress_mismatch":
    case "environment_mismatch":
    case "exit_location_unknown":
    case "not_running":
    case "hold_not_found":
    case "changed_meanwhile":
    case "import_weaker":
    case "egress_bypassed":
    case "path_not_chosen":
    case "team_passphrase":
    case "team_unavailable":
    case "not_in_team":
    case "already_in_team":
    case "edit_conflict":
    case "permission_denied":
    case "lease_lost":
    case "unauthorized": // this and the next four: the local API's own refusals
    case "forbidden":
    case "body_too_large":
    case "invalid_request":
    case "no_such_endpoint":
      return null;
    case "invalid_rule":
      // The payload names the rule list (rules.refresh, .login, .verification, .sensitive).
      return FORM_FIELDS.find((f) => f === field) ?? null;
    default:
      return assertNever(code);
  }
}

function assertNever(x: never): never {
  throw new Error(`unhandled error code ${String(x)}`);
}

/** Whether a thrown value is an error payload from the core. */
export function isErrorPayload(e: unknown): e is ErrorPayload {
  return (
    typeof e === "object" &&
    e !== null &&
    typeof (e as { code?: unknown }).code === "string" &&
    typeof (e as { message?: unknown }).message === "string"
  );
}

/** Turns anything thrown by a command into an error payload. */
export function toErrorPayload(e: unknown): ErrorPayload {
  if (isErrorPayload(e)) return e;
  return { code: "io_error", field: null, message: e instanceof Error ? e.message : String(e) };
}

/** Preflight refusals that the operator may override ("Launch anyway"). */
export function isOverridable(code: ErrorCode): boolean {
  switch (code) {
    case "clock_skew":
    case "egress_mismatch":
    case "environment_mismatch":
    case "exit_unreachable":
    case "exit_auth_failed":
    case "egress_probe_failed":
      return true;
    default:
      return false;
  }
}
