/** Wording of the guard's prompt, risk banner and audit list. */
import type { RiskReason } from "../bindings/RiskReason";

/** "just now", "40 s ago", "4 min ago", "2 h ago" — as the CLI says it. */
export function ago(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 5) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 5400) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}

/** The reasons in one line, each with its age: "egress 127.0.0.2 → 127.0.0.3 4 min ago; …". */
export function reasonsLine(reasons: RiskReason[], now: number): string {
  return reasons.map((r) => `${r.detail} ${ago(now - Date.parse(r.since))}`).join("; ");
}

/** Whole seconds left until an RFC 3339 deadline (0 once past). */
export function secondsLeft(deadline: string, now: number): number {
  return Math.max(0, Math.ceil((Date.parse(deadline) - now) / 1000));
}

/** An action name for people: `password-change` → "password change". */
export function actionLabel(action: string): string {
  return action.replace(/[-_]+/g, " ");
}
