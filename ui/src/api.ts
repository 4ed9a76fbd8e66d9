/**
 * The app's API: the generated command client (bindings/commands.ts, from the core's one list of
 * commands) plus the launch progress event.
 */
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import { commands } from "./bindings/commands";
import type { LaunchProgress } from "./bindings/LaunchProgress";

export const api = {
  ...commands,
  /** Progress of launches, as the core reports each step. */
  onLaunchProgress: (f: (p: LaunchProgress) => void): Promise<UnlistenFn> =>
    listen<LaunchProgress>("launch-progress", (e) => f(e.payload)),
  /** In a team: another member changed templates and this home pulled them. */
  onTemplatesChanged: (f: () => void): Promise<UnlistenFn> => listen<number>("templates-changed", () => f()),
};
