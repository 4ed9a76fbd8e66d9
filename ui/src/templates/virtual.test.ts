import { describe, expect, it } from "vitest";
import { visibleRows } from "./virtual";

describe("visibleRows", () => {
  it("renders only a window of a 10,000-row list", () => {
    const w = visibleRows(0, 600, 44, 10_000);
    expect(w.start).toBe(0);
    expect(w.end - w.start).toBeLessThan(40);
    expect(w.totalHeight).toBe(440_000);
  });

  it("reaches the last row when scrolled to the bottom", () => {
    const w = visibleRows(440_000, 600, 44, 10_000);
    expect(w.end).toBe(10_000);
    expect(w.offsetTop).toBe(w.start * 44);
  });

  it("clamps scroll positions past the end and handles an empty list", () => {
    expect(visibleRows(1e9, 600, 44, 3)).toMatchObject({ start: 0, end: 3 });
    expect(visibleRows(0, 600, 44, 0)).toEqual({ start: 0, end: 0, offsetTop: 0, totalHeight: 0 });
  });
});
