/** How launch state and running sessions read at a glance. */
import type { LaunchStep } from "../bindings/LaunchStep";
import type { Preflight } from "../bindings/Preflight";

/** The words for each launch step. */
export function stepLabel(step: LaunchStep): string {
  switch (step) {
    case "lease":
      return "Taking the session lease…";
    case "preflight":
      return "Checking clock and egress…";
    case "browser":
      return "Starting the browser…";
    case "ready":
      return "Running";
  }
}

/** A clock offset as "+12 ms" / "unknown". */
export function formatOffset(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "unknown";
  return `${ms > 0 ? "+" : ""}${ms} ms`;
}

/** One line per preflight fact worth showing. */
export function preflightLines(p: Preflight): string[] {
  const lines = [`Clock ${formatOffset(p.clock.offset_ms)} (${p.clock.verdict})`];
  const e = p.egress.egress;
  lines.push(e.ip ? `Egress ${e.ip}${e.pinned ? (e.ip === e.pinned ? " (as pinned)" : ` (pinned ${e.pinned})`) : ""}` : "Egress unknown");
  return lines;
}
