import type { FleetState } from "../bindings/FleetState";
import { SORT_LABELS, type FleetFilter, type SortKey } from "./fleet";

interface Props {
  filter: FleetFilter;
  sort: SortKey;
  facets: { tags: string[]; exits: string[] };
  onFilter: (f: FleetFilter) => void;
  onSort: (s: SortKey) => void;
  shown: number;
  total: number | null;
  allSelected: boolean;
  onSelectAll: (on: boolean) => void;
}

const STATES: FleetState[] = ["running", "starting", "stopped", "elsewhere"];

/** Filters (state, tag, exit, risk), the sort order, and select-all of what is shown. */
export function FleetFilters({ filter, sort, facets, onFilter, onSort, shown, total, allSelected, onSelectAll }: Props) {
  return (
    <div className="list-head fleet-filters" role="group" aria-label="Filter and sort">
      <label className="inline">
        <input
          type="checkbox"
          checked={allSelected}
          onChange={(e) => onSelectAll(e.target.checked)}
          data-testid="select-all"
          aria-label="Select all shown"
        />
      </label>
      <span data-testid="fleet-count">{total === null ? "Loading…" : `${shown} of ${total}`}</span>
      <label>
        State{" "}
        <select
          value={filter.state}
          onChange={(e) => onFilter({ ...filter, state: e.target.value as FleetState | "" })}
          data-testid="filter-state"
        >
          <option value="">any</option>
          {STATES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label>
        Tag{" "}
        <select value={filter.tag} onChange={(e) => onFilter({ ...filter, tag: e.target.value })} data-testid="filter-tag">
          <option value="">any</option>
          {facets.tags.map((t) => (
            <option key={t}>{t}</option>
          ))}
        </select>
      </label>
      <label>
        Exit{" "}
        <select value={filter.exit} onChange={(e) => onFilter({ ...filter, exit: e.target.value })} data-testid="filter-exit">
          <option value="">any</option>
          {facets.exits.map((x) => (
            <option key={x}>{x}</option>
          ))}
        </select>
      </label>
      <label className="inline">
        <input
          type="checkbox"
          checked={filter.risk}
          onChange={(e) => onFilter({ ...filter, risk: e.target.checked })}
          data-testid="filter-risk"
        />{" "}
        at risk
      </label>
      <label>
        Sort{" "}
        <select value={sort} onChange={(e) => onSort(e.target.value as SortKey)} data-testid="sort">
          {(Object.keys(SORT_LABELS) as SortKey[]).map((k) => (
            <option key={k} value={k}>
              {SORT_LABELS[k]}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}
