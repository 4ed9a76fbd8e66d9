import { describe, expect, it } from "vitest";
import { runBulk, type BulkProgress } from "./bulk";

describe("runBulk", () => {
  it("reports every item's result, failures included, a few at a time", async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: BulkProgress[] = [];
    const out = await runBulk(
      "check",
      ["a", "b", "c", "d", "e"],
      async (n) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        if (n === "c") throw { code: "exit_unreachable", message: "no answer" };
        return `ok ${n}`;
      },
      (p) => seen.push(p),
      new AbortController().signal,
      2,
    );
    expect(peak).toBe(2);
    expect(out.done).toBe(5);
    expect(out.results.find((r) => r.name === "c")).toMatchObject({ ok: false, code: "exit_unreachable" });
    expect(out.results.filter((r) => r.ok)).toHaveLength(4);
    expect(seen.map((p) => p.done)).toEqual([0, 1, 2, 3, 4, 5, 5]);
  });

  it("starts nothing more once cancelled and says which were not done", async () => {
    const ctl = new AbortController();
    const started: string[] = [];
    const out = await runBulk(
      "launch",
      ["a", "b", "c", "d"],
      async (n) => {
        started.push(n);
        if (n === "b") ctl.abort();
        return n;
      },
      () => undefined,
      ctl.signal,
      1,
    );
    expect(started).toEqual(["a", "b"]);
    expect(out.cancelled).toBe(true);
    expect(out.results.filter((r) => r.code === "cancelled").map((r) => r.name)).toEqual(["c", "d"]);
  });
});
