// Generated from crates/core/src/commands/list.rs by `cargo test -p holdfast-core`: do not edit.
import { call } from "../ipc";
import type { CheckReport } from "./CheckReport";
import type { Decision } from "./Decision";
import type { ExitFit } from "./ExitFit";
import type { ExitStatus } from "./ExitStatus";
import type { ExportSummary } from "./ExportSummary";
import type { FleetRow } from "./FleetRow";
import type { HealthReport } from "./HealthReport";
import type { HealthSeries } from "./HealthSeries";
import type { HoldRecord } from "./HoldRecord";
import type { ImportPlan } from "./ImportPlan";
import type { LaunchOptions } from "./LaunchOptions";
import type { Launched } from "./Launched";
import type { OnConflict } from "./OnConflict";
import type { Overview } from "./Overview";
import type { PendingHold } from "./PendingHold";
import type { Removal } from "./Removal";
import type { RiskState } from "./RiskState";
import type { Selection } from "./Selection";
import type { SessionInfo } from "./SessionInfo";
import type { TeamStatus } from "./TeamStatus";
import type { Template } from "./Template";
import type { TemplateDraft } from "./TemplateDraft";
import type { TemplatePatch } from "./TemplatePatch";

/** Every command of the desktop app, typed. */
export const commands = {
  /** All templates, by name. */
  listTemplates: () => call<Array<Template>>("list_templates"),
  /** One template by name. */
  getTemplate: (name: string) => call<Template>("get_template", { name }),
  /** Adds a template. */
  addTemplate: (draft: TemplateDraft) => call<Template>("add_template", { draft }),
  /** Changes a template. */
  editTemplate: (name: string, patch: TemplatePatch) => call<Template>("edit_template", { name, patch }),
  /** Removes a template (its profile is kept unless `purge`). */
  removeTemplate: (name: string, purge: boolean) => call<Removal>("remove_template", { name, purge }),
  /** The last seen egress of every template (no network). */
  exitStatuses: () => call<Array<ExitStatus>>("exit_statuses"),
  /** Fetches a template's egress IP through its exit now and records it. */
  checkExit: (name: string) => call<CheckReport>("check_exit", { name }),
  /** Where a template's exit is now (asked through the exit) and the timezone and locale that would fit it; nothing is saved. */
  exitFit: (name: string) => call<ExitFit>("exit_fit", { name }),
  /** Writes a bundle of the selected templates to `path` (an empty passphrase is none). */
  exportBundle: (selection: Selection, path: string, passphrase: string | null) => call<ExportSummary>("export_bundle", { selection, path, passphrase }),
  /** Plans (`dry_run`) or performs the import of the bundle at `path` (`allow_weaker`: let a replacement turn a proxied or pinned exit direct or drop a pin). */
  importBundle: (path: string, onConflict: OnConflict, passphrase: string | null, dryRun: boolean, allowWeaker: boolean) => call<ImportPlan>("import_bundle", { path, onConflict, passphrase, dryRun, allowWeaker }),
  /** Launches a template's browser and keeps the session in this process; progress goes to the launch progress stream. */
  launchSession: (name: string, options: LaunchOptions) => call<Launched>("launch_session", { name, options }),
  /** Running sessions (of this process and of any other Holdfast process on the same home). */
  listSessions: () => call<Array<SessionInfo>>("list_sessions"),
  /** Stops a template's session: cleanly through its own handle when this process launched it. */
  stopSession: (name: string) => call<SessionInfo>("stop_session", { name }),
  /** Every template's row of the fleet list: state, egress and pin, clock, risk, 5 min of health, last launch. */
  fleet: () => call<Array<FleetRow>>("fleet"),
  /** Sessions in trouble ranked, and each exit judged across its accounts. */
  fleetOverview: () => call<Overview>("fleet_overview"),
  /** Requests and failures per stage over `window` (5m, 1h, 24h) of one template or of all (`name` null), with egress changes and failed refreshes marked. */
  healthSeries: (name: string | null, window: string) => call<HealthSeries>("health_series", { name, window }),
  /** The health of a template over 5 min / 1 h / 24 h (both layers, per exit, timeline, series). */
  templateHealth: (name: string) => call<HealthReport>("template_health", { name }),
  /** The risk window of a template now. */
  templateRisk: (name: string) => call<RiskState>("template_risk", { name }),
  /** Holds of this process's sessions waiting for Proceed or Cancel, oldest first. */
  pendingHolds: () => call<Array<PendingHold>>("pending_holds"),
  /** The operator's answer to a hold. */
  decideHold: (id: number, decision: Decision) => call<null>("decide_hold", { id, decision }),
  /** This home's team (membership, role, connected or offline, who runs which account where); null without a team. */
  teamStatus: () => call<TeamStatus | null>("team_status"),
  /** The guard's audit log, newest first (at most 200): of one template, or all when `name` is null. */
  auditLog: (name: string | null) => call<Array<HoldRecord>>("audit_log", { name }),
};
