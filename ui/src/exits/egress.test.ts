import { describe, expect, it } from "vitest";
import type { EgressStatus } from "../bindings/EgressStatus";
import { egressState } from "./egress";

const base: EgressStatus = {
  ip: "127.0.0.2",
  pinned: null,
  changed: false,
  checked_at: "2026-11-21T10:00:00.000Z",
  via: "http://127.0.0.1/ip",
  previous: null,
  exit: "http://u@127.0.0.1:8080",
  country: null,
  timezone: null,
  previous_country: null,
};

describe("egressState", () => {
  it("reads a status at a glance", () => {
    expect(egressState(null)).toBe("unknown");
    expect(egressState({ ...base, ip: null })).toBe("unknown");
    expect(egressState(base)).toBe("seen");
    expect(egressState({ ...base, pinned: "127.0.0.2" })).toBe("ok");
    expect(egressState({ ...base, pinned: "127.0.0.3", changed: true })).toBe("changed");
  });
});
