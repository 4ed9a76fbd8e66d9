/** How the header shows the team: one line, and the accounts running anywhere in the team. */
import type { TeamStatus } from "../bindings/TeamStatus";

/** The header's one line for a team status. */
export function teamLine(s: TeamStatus): string {
  const who = s.role ? `${s.member} (${s.role})` : s.member;
  if (!s.connected) {
    const since = s.synced_at ? `; copy from ${s.synced_at}` : "";
    return `Team · ${who} · OFFLINE${since}`;
  }
  const members = s.members === null ? "" : ` · ${s.members} member${s.members === 1 ? "" : "s"}`;
  return `Team · ${who} · connected${members}`;
}
