import { describe, expect, it } from "vitest";
import { columns } from "./series";

describe("columns", () => {
  it("fills every bucket of the window and splits failures by stage", () => {
    const c = columns({
      window: "5m",
      from: "2026-01-01T00:00:00.000Z",
      to: "2026-01-01T00:05:00.000Z",
      bucket_secs: 60,
      points: [
        { at: "2026-01-01T00:01:00.000Z", requests: 10, failures: { tcp_connect: 2 } },
        { at: "2026-01-01T00:03:00.000Z", requests: 4, failures: { auth: 1, proxy: 1 } },
      ],
      marks: [{ at: "2026-01-01T00:02:30.000Z", kind: "egress_change", template: "a", detail: "egress x → y" }],
    });
    expect(c.x).toHaveLength(6);
    expect(c.requests).toEqual([0, 10, 0, 4, 0, 0]);
    expect(c.stages.map((s) => s.stage)).toEqual(["tcp_connect", "proxy", "auth"]);
    expect(c.stages[0]?.values).toEqual([0, 2, 0, 0, 0, 0]);
    expect(c.marks[0]).toMatchObject({ kind: "egress_change", label: "a: egress x → y" });
  });
});
