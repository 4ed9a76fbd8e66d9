import { describe, expect, it } from "vitest";
import { actionLabel, ago, reasonsLine, secondsLeft } from "./guard";

describe("guard wording", () => {
  const now = Date.parse("2026-11-21T12:00:00Z");

  it("names each reason with its age, like the CLI", () => {
    const line = reasonsLine(
      [
        { kind: "egress_changed", since: "2026-11-21T11:56:00Z", detail: "egress 127.0.0.2 → 127.0.0.3" },
        { kind: "refresh_failed", since: "2026-11-21T11:59:00Z", detail: "refresh failed (503): /api/refresh" },
      ],
      now,
    );
    expect(line).toBe("egress 127.0.0.2 → 127.0.0.3 4 min ago; refresh failed (503): /api/refresh 1 min ago");
  });

  it("rounds ages and deadlines sensibly", () => {
    expect(ago(2000)).toBe("just now");
    expect(ago(40_000)).toBe("40 s ago");
    expect(ago(2 * 3600_000)).toBe("2 h ago");
    expect(secondsLeft("2026-11-21T12:00:59.200Z", now)).toBe(60);
    expect(secondsLeft("2026-11-21T11:00:00Z", now)).toBe(0);
    expect(actionLabel("password-change")).toBe("password change");
  });
});
