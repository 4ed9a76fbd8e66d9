import { describe, expect, it } from "vitest";
import { bars, ms, pct } from "./health";

describe("health panel helpers", () => {
  it("formats ratios and latencies, with a dash for nothing", () => {
    expect(pct(0.125)).toBe("12.5%");
    expect(pct(null)).toBe("–");
    expect(ms(41.6)).toBe("42 ms");
    expect(ms(undefined)).toBe("–");
  });

  it("scales bars to the busiest bucket and stacks failures by stage", () => {
    const b = bars(
      [
        { at: "2026-11-21T10:00:00.000Z", requests: 10, failures: {} },
        { at: "2026-11-21T10:30:00.000Z", requests: 5, failures: { tcp_connect: 2, auth: 1 } },
      ],
      Date.parse("2026-11-21T10:00:00.000Z"),
      Date.parse("2026-11-21T11:00:00.000Z"),
      120,
      50,
    );
    const [busy, failing] = b;
    expect(b).toHaveLength(2);
    expect(busy?.ok).toBe(50);
    expect(failing?.ok).toBe(10);
    expect(failing?.segments.map((s) => s.stage)).toEqual(["tcp_connect", "auth"]);
    expect(failing?.segments[0]?.height).toBe(10);
    expect(failing?.title).toContain("tcp_connect 2");
    expect(busy?.x).toBe(0);
    expect(failing?.x).toBe(60); // placed by time: half-way through the hour
  });
});
