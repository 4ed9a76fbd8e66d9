/**
 * The app's API: the generated command client (bindings/commands.ts, from the core's one list of
 * commands) plus the launch progress event.
 */
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import { commands } from "./bindings/commands";
import type { KeptEvent } from "./bindings/KeptEvent";
import type { LaunchProgress } from "./bindings/LaunchProgress";

export const api = {
  ...commands,
  /** Progress of launches, as the core reports each step. */
  onLaunchProgress: (f: (p: LaunchProgress) => void): Promise<UnlistenFn> =>
    listen<LaunchProgress>("launch-progress", (e) => f(e.payload)),
  /** In a team: another member changed templates and this home pulled them. */
  onTemplatesChanged: (f: () => void): Promise<UnlistenFn> => listen<number>("templates-changed", () => f()),
  /** Every event of the sessions the app keeps, pushed by the core as it happens. */
  onSessionEvent: (f: (e: KeptEvent) => void): Promise<UnlistenFn> =>
    listen<KeptEvent>("session-event", (e) => f(e.payload)),
  /** The push stream overflowed: whatever listens reloads. */
  onEventsLagged: (f: () => void): Promise<UnlistenFn> => listen("session-events-lagged", () => f()),
  /** A notification was clicked: open that template. */
  onFocusTemplate: (f: (name: string) => void): Promise<UnlistenFn> =>
    listen<string>("focus-template", (e) => f(e.payload)),
};
