// Built into the Python package, whose server serves it (jnft/viewer/static/, not committed).
import { defineConfig } from "vite";

export default defineConfig({
  base: "/",
  build: {
    outDir: "../jnft/viewer/static",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
  },
  server: {
    proxy: { "/api": "http://127.0.0.1:8000", "/tiles": "http://127.0.0.1:8000" },
  },
});
