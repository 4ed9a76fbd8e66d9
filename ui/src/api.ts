/** Typed wrappers over the Tauri commands (see src-tauri/src/app/commands.rs). */
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { Decision } from "./bindings/Decision";
import type { HealthReport } from "./bindings/HealthReport";
import type { HoldRecord } from "./bindings/HoldRecord";
import type { PendingHold } from "./bindings/PendingHold";
import type { RiskState } from "./bindings/RiskState";
import type { LaunchOptions } from "./bindings/LaunchOptions";
import type { LaunchProgress } from "./bindings/LaunchProgress";
import type { Launched } from "./bindings/Launched";
import type { SessionInfo } from "./bindings/SessionInfo";
import type { CheckReport } from "./bindings/CheckReport";
import type { ExitStatus } from "./bindings/ExitStatus";
import type { ExportSummary } from "./bindings/ExportSummary";
import type { ImportPlan } from "./bindings/ImportPlan";
import type { OnConflict } from "./bindings/OnConflict";
import type { Selection } from "./bindings/Selection";
import type { Removal } from "./bindings/Removal";
import type { Template } from "./bindings/Template";
import type { TemplateDraft } from "./bindings/TemplateDraft";
import type { TemplatePatch } from "./bindings/TemplatePatch";
import { toErrorPayload } from "./errors";

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    // Commands reject with an ErrorPayload; normalise anything else to one.
    throw toErrorPayload(e);
  }
}

export const api = {
  listTemplates: () => call<Template[]>("list_templates"),
  getTemplate: (name: string) => call<Template>("get_template", { name }),
  addTemplate: (draft: TemplateDraft) => call<Template>("add_template", { draft }),
  editTemplate: (name: string, patch: TemplatePatch) => call<Template>("edit_template", { name, patch }),
  removeTemplate: (name: string, purge: boolean) => call<Removal>("remove_template", { name, purge }),
  exitStatuses: () => call<ExitStatus[]>("exit_statuses"),
  checkExit: (name: string) => call<CheckReport>("check_exit", { name }),
  exportBundle: (selection: Selection, path: string, passphrase: string | null) =>
    call<ExportSummary>("export_bundle", { selection, path, passphrase }),
  importBundle: (path: string, onConflict: OnConflict, passphrase: string | null, dryRun: boolean) =>
    call<ImportPlan>("import_bundle", { path, onConflict, passphrase, dryRun }),
  launchSession: (name: string, options: LaunchOptions) => call<Launched>("launch_session", { name, options }),
  listSessions: () => call<SessionInfo[]>("list_sessions"),
  stopSession: (name: string) => call<SessionInfo>("stop_session", { name }),
  templateHealth: (name: string) => call<HealthReport>("template_health", { name }),
  templateRisk: (name: string) => call<RiskState>("template_risk", { name }),
  pendingHolds: () => call<PendingHold[]>("pending_holds"),
  decideHold: (id: number, decision: Decision) => call<null>("decide_hold", { id, decision }),
  auditLog: (name: string | null) => call<HoldRecord[]>("audit_log", { name }),
  /** Progress of launches, as the core reports each step. */
  onLaunchProgress: (f: (p: LaunchProgress) => void): Promise<UnlistenFn> =>
    listen<LaunchProgress>("launch-progress", (e) => f(e.payload)),
};
