/** The fleet list's logic: filters, sort orders and labels, without React (unit-tested). */
import type { FleetRow } from "../bindings/FleetRow";
import type { FleetState } from "../bindings/FleetState";
import type { KeptEvent } from "../bindings/KeptEvent";

/** What the list is narrowed to. Empty strings mean "any". */
export interface FleetFilter {
  query: string;
  state: FleetState | "";
  tag: string;
  exit: string;
  /** Only rows with an open risk window. */
  risk: boolean;
}

export const NO_FILTER: FleetFilter = { query: "", state: "", tag: "", exit: "", risk: false };

export type SortKey = "name" | "state" | "health" | "risk" | "last_launched" | "exit";

export const SORT_LABELS: Record<SortKey, string> = {
  name: "Name",
  state: "State",
  health: "Health (worst first)",
  risk: "Risk (open first)",
  last_launched: "Last launched",
  exit: "Exit",
};

const STATE_ORDER: Record<FleetState, number> = { starting: 0, running: 1, elsewhere: 2, stopped: 3 };
const HEALTH_ORDER: Record<FleetRow["health"], number> = { bad: 0, warn: 1, ok: 2, idle: 3 };

/** Case-insensitive match on name, account, exit, egress and tags. */
export function matchesQuery(r: FleetRow, q: string): boolean {
  if (q === "") return true;
  const needle = q.toLowerCase();
  return (
    r.name.toLowerCase().includes(needle) ||
    r.account.toLowerCase().includes(needle) ||
    r.exit.toLowerCase().includes(needle) ||
    (r.egress_ip ?? "").includes(needle) ||
    r.tags.some((t) => t.toLowerCase().includes(needle))
  );
}

/** The rows that pass the filter, in the given order (a new array; the input is untouched). */
export function view(rows: FleetRow[], f: FleetFilter, sort: SortKey): FleetRow[] {
  const q = f.query.trim();
  const out = rows.filter(
    (r) =>
      matchesQuery(r, q) &&
      (f.state === "" || r.state === f.state) &&
      (f.tag === "" || r.tags.includes(f.tag)) &&
      (f.exit === "" || r.exit === f.exit) &&
      (!f.risk || r.risk.open),
  );
  const byName = (a: FleetRow, b: FleetRow) => order(a.name.toLowerCase(), b.name.toLowerCase());
  const cmp: Record<SortKey, (a: FleetRow, b: FleetRow) => number> = {
    name: byName,
    state: (a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] || byName(a, b),
    health: (a, b) =>
      HEALTH_ORDER[a.health] - HEALTH_ORDER[b.health] || b.failures_5m - a.failures_5m || byName(a, b),
    risk: (a, b) => Number(b.risk.open) - Number(a.risk.open) || byName(a, b),
    last_launched: (a, b) => order(b.last_launched ?? "", a.last_launched ?? "") || byName(a, b),
    exit: (a, b) => order(a.exit, b.exit) || byName(a, b),
  };
  return out.sort(cmp[sort] ?? byName);
}

/**
 * Plain code-unit order, like the core's NOCASE name order once lowercased. Not
 * `localeCompare`: its collator loads ICU's data into the page for a list sorted by name.
 */
function order(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Every tag and exit in use, sorted, for the filter menus. */
export function facets(rows: FleetRow[]): { tags: string[]; exits: string[] } {
  const tags = new Set<string>();
  const exits = new Set<string>();
  for (const r of rows) {
    r.tags.forEach((t) => tags.add(t));
    exits.add(r.exit);
  }
  return { tags: [...tags].sort(), exits: [...exits].sort() };
}

/** "running", "starting", "stopped", or "held by bob on m2". */
export function stateLabel(r: FleetRow): string {
  return r.state === "elsewhere" ? `held by ${r.held_by ?? "another machine"}` : r.state;
}

/** "+120 ms" / "−3.2 s" / "" for a clock offset. */
export function clockLabel(ms: number | null): string {
  if (ms === null) return "";
  const sign = ms < 0 ? "−" : "+";
  const a = Math.abs(ms);
  return a < 1000 ? `${sign}${a} ms` : `${sign}${(a / 1000).toFixed(1)} s`;
}

/** "just now", "4 min ago", "2 h ago", "3 d ago" for an RFC 3339 time. */
export function ago(at: string | null, now: number = Date.now()): string {
  if (!at) return "never";
  const s = Math.max(0, Math.round((now - Date.parse(at)) / 1000));
  if (s < 5) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/**
 * Keeps the objects of rows that did not change (by content), so memoised row components skip
 * re-rendering on a reload: only the row an event touched renders again.
 */
export function reuseUnchanged(old: FleetRow[] | null, fresh: FleetRow[]): FleetRow[] {
  if (!old) return fresh;
  const before = new Map(old.map((r) => [r.template_id, r]));
  let same = old.length === fresh.length;
  const out = fresh.map((r, i) => {
    const o = before.get(r.template_id);
    const keep = o !== undefined && JSON.stringify(o) === JSON.stringify(r) ? o : r;
    if (keep !== old[i]) same = false;
    return keep;
  });
  return same ? old : out;
}

/**
 * The rows with one pushed event applied at once (a launch runs, an end stops, a risk window
 * opens or closes), so the row changes without waiting for a reload; the reload that follows
 * brings the rest (health counts, egress). Rows the event does not touch keep their objects.
 */
export function applyEvent(rows: FleetRow[], e: KeptEvent): FleetRow[] {
  const name = e.type === "hold_waiting" ? e.hold.template : e.template;
  const i = rows.findIndex((r) => r.name === name);
  const r = rows[i];
  if (r === undefined) return rows;
  let next: FleetRow;
  switch (e.type) {
    case "launched":
      next = { ...r, state: "running", session: e.session, egress_ip: e.session.egress_ip ?? r.egress_ip };
      break;
    case "ended":
      next = { ...r, state: "stopped", session: null, risk: { open: false, reasons: [] } };
      break;
    case "risk_opened":
      next = { ...r, risk: { open: true, reasons: e.reasons } };
      break;
    case "risk_closed":
      next = { ...r, risk: { open: false, reasons: [] } };
      break;
    default:
      return rows;
  }
  const out = rows.slice();
  out[i] = next;
  return out;
}
