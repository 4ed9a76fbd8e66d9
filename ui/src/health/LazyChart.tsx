import { lazy, Suspense, type ComponentProps } from "react";

// The chart and uPlot load when a chart is first shown, not with the fleet list: the list is
// what the window opens on, and uPlot's module sets up number formatting (ICU data) as it loads.
const Chart = lazy(() => import("./SeriesChart").then((m) => ({ default: m.SeriesChart })));

/** The series chart, loaded on first use. */
export function LazyChart(props: ComponentProps<typeof Chart>) {
  return (
    <Suspense fallback={<div className="chart-loading muted">Loading chart…</div>}>
      <Chart {...props} />
    </Suspense>
  );
}
