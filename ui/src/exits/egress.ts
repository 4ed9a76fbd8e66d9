/** How an egress status reads at a glance. */
import type { EgressStatus } from "../bindings/EgressStatus";

export type EgressState = "unknown" | "seen" | "ok" | "changed";

/** unknown: never checked; changed: differs from the pin (or the IP before); ok: matches the pin. */
export function egressState(s: EgressStatus | null | undefined): EgressState {
  if (!s || s.ip === null) return "unknown";
  if (s.changed) return "changed";
  return s.pinned !== null ? "ok" : "seen";
}

/** A stored RFC 3339 time in the user's locale, or a dash. */
export function formatWhen(iso: string | null): string {
  if (!iso) return "never";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}
