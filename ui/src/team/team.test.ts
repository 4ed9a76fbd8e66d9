import { describe, expect, it } from "vitest";
import type { TeamStatus } from "../bindings/TeamStatus";
import { teamLine } from "./team";

const base: TeamStatus = {
  team_id: "t",
  url: "postgres://alice@db/team",
  member: "alice",
  machine_id: "m",
  connected: true,
  error: null,
  role: "editor",
  members: 3,
  templates: 10,
  synced_at: "2026-12-02T00:00:00.000Z",
  running: [],
};

describe("team line", () => {
  it("shows the member, the role and the member count when connected", () => {
    expect(teamLine(base)).toBe("Team · alice (editor) · connected · 3 members");
  });
  it("says OFFLINE and how old the copy is when the store does not answer", () => {
    expect(teamLine({ ...base, connected: false, role: null, members: null, error: "down" })).toBe(
      "Team · alice · OFFLINE; copy from 2026-12-02T00:00:00.000Z",
    );
  });
});
