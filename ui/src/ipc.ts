/** The one way the UI calls the core: Tauri's invoke, with errors normalised to an ErrorPayload. */
import { invoke } from "@tauri-apps/api/core";
import { toErrorPayload } from "./shared/errors";

export async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    // Commands reject with an ErrorPayload; normalise anything else to one.
    throw toErrorPayload(e);
  }
}
