import { defineConfig } from "vitest/config";

// Tauri serves ui/dist from its own protocol; no dev server is needed for the app build.
export default defineConfig({
  clearScreen: false,
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "safari16",
    sourcemap: false,
  },
  server: { port: 1420, strictPort: true },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});
