import { describe, expect, it } from "vitest";
import { formatOffset, stepLabel } from "./launch";

describe("launch display", () => {
  it("signs clock offsets and says unknown when unmeasured", () => {
    expect(formatOffset(12)).toBe("+12 ms");
    expect(formatOffset(-3)).toBe("-3 ms");
    expect(formatOffset(null)).toBe("unknown");
  });
  it("names every step", () => {
    expect(stepLabel("preflight")).toMatch(/clock/);
    expect(stepLabel("ready")).toBe("Running");
  });
});
