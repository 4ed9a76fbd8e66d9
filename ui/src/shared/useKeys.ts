/** Single-key shortcuts for the whole window, ignored while typing in a field. */
import { useEffect, useRef } from "react";

/**
 * Calls `keys[e.key]` on a key press outside text fields and without Ctrl/Alt/Meta. Letters
 * match either case (`L` and `l`). The map may change every render.
 */
export function useKeys(keys: Record<string, () => void>): void {
  const current = useRef(keys);
  useEffect(() => {
    current.current = keys;
  });
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.altKey || e.metaKey || e.isComposing) return;
      const t = e.target as HTMLElement | null;
      const typing =
        t instanceof HTMLInputElement ? t.type !== "checkbox" : t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement || t?.isContentEditable;
      // Escape still works from a field (it closes the drawer).
      if (typing && e.key !== "Escape") return;
      const f = current.current[e.key] ?? current.current[e.key.toLowerCase()];
      if (f) {
        e.preventDefault();
        f();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}
