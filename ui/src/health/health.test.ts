import { describe, expect, it } from "vitest";
import { ms, pct } from "./health";

describe("health panel helpers", () => {
  it("formats ratios and latencies, with a dash for nothing", () => {
    expect(pct(0.125)).toBe("12.5%");
    expect(pct(null)).toBe("–");
    expect(ms(41.6)).toBe("42 ms");
    expect(ms(undefined)).toBe("–");
  });
});
