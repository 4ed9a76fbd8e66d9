import { defineConfig } from "vitest/config";

// Tauri serves ui/dist from its own protocol; no dev server is needed for the app build.
export default defineConfig({
  clearScreen: false,
  // Preact's React-compatible API instead of React: the page is the same React code, the
  // window's web process holds a few MB less (measured by bench/app_memory.sh).
  resolve: {
    alias: {
      "react-dom/client": "preact/compat/client",
      "react-dom": "preact/compat",
      "react/jsx-runtime": "preact/jsx-runtime",
      react: "preact/compat",
    },
  },
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
