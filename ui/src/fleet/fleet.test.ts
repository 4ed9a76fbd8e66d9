import { describe, expect, it } from "vitest";
import type { FleetRow } from "../bindings/FleetRow";
import { NO_FILTER, ago, applyEvent, clockLabel, facets, reuseUnchanged, view } from "./fleet";

function row(name: string, over: Partial<FleetRow> = {}): FleetRow {
  return {
    template_id: name,
    name,
    account: `${name}@example.test`,
    exit: "direct",
    tags: [],
    state: "stopped",
    held_by: null,
    session: null,
    egress_ip: null,
    pinned_egress_ip: null,
    pin_mismatch: false,
    clock_offset_ms: null,
    risk: { open: false, reasons: [] },
    requests_5m: 0,
    failures_5m: 0,
    connection_failures_5m: 0,
    unauthorized_5m: 0,
    health: "idle",
    last_launched: null,
    ...over,
  };
}

describe("fleet view", () => {
  const rows = [
    row("b", { state: "running", tags: ["shop"], health: "bad", failures_5m: 9 }),
    row("a", { tags: ["shop", "eu"], exit: "http://p:1" }),
    row("c", { state: "running", risk: { open: true, reasons: [] }, health: "warn" }),
  ];

  it("filters by state, tag, exit, risk and text together", () => {
    expect(view(rows, { ...NO_FILTER, state: "running" }, "name").map((r) => r.name)).toEqual(["b", "c"]);
    expect(view(rows, { ...NO_FILTER, tag: "shop" }, "name").map((r) => r.name)).toEqual(["a", "b"]);
    expect(view(rows, { ...NO_FILTER, exit: "http://p:1" }, "name").map((r) => r.name)).toEqual(["a"]);
    expect(view(rows, { ...NO_FILTER, risk: true }, "name").map((r) => r.name)).toEqual(["c"]);
    expect(view(rows, { ...NO_FILTER, query: "C@EXAMPLE" }, "name").map((r) => r.name)).toEqual(["c"]);
  });

  it("sorts the worst health and open risk first", () => {
    expect(view(rows, NO_FILTER, "health").map((r) => r.name)).toEqual(["b", "c", "a"]);
    expect(view(rows, NO_FILTER, "risk")[0]?.name).toBe("c");
    expect(rows.map((r) => r.name)).toEqual(["b", "a", "c"]);
  });

  it("lists the tags and exits in use", () => {
    expect(facets(rows)).toEqual({ tags: ["eu", "shop"], exits: ["direct", "http://p:1"] });
  });

  it("keeps unchanged row objects so only touched rows re-render", () => {
    const fresh = rows.map((r) => ({ ...r }));
    expect(reuseUnchanged(rows, fresh)).toBe(rows);
    fresh[1] = { ...(rows[1] as FleetRow), state: "running" };
    const next = reuseUnchanged(rows, fresh);
    expect(next[0]).toBe(rows[0]);
    expect(next[1]).not.toBe(rows[1]);
  });

  it("labels clocks and times", () => {
    expect(clockLabel(null)).toBe("");
    expect(clockLabel(-120)).toBe("−120 ms");
    expect(clockLabel(30_400)).toBe("+30.4 s");
    expect(ago(null)).toBe("never");
    expect(ago("2026-01-01T00:00:00Z", Date.parse("2026-01-01T00:04:00Z"))).toBe("4 min ago");
  });
});

describe("applyEvent", () => {
  const rows = [row("a"), row("b", { state: "running" })];
  it("changes only the row the event names", () => {
    const opened = applyEvent(rows, {
      type: "risk_opened",
      template: "b",
      reasons: [{ kind: "egress_changed", since: "2026-01-01T00:00:00Z", detail: "egress x → y" }],
    });
    expect(opened[0]).toBe(rows[0]);
    expect(opened[1]?.risk.open).toBe(true);
    const ended = applyEvent(opened, { type: "ended", template: "b", expected: true });
    expect(ended[1]?.state).toBe("stopped");
    expect(ended[1]?.risk.open).toBe(false);
    expect(applyEvent(rows, { type: "ended", template: "nobody", expected: false })).toBe(rows);
  });
});
