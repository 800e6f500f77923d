import { defineConfig } from "vite";

// The page ships inside the Python package; the server serves this directory at "/".
// outDir is resolved against this directory (the Vite root).
const outDir = "../src/allied_c2/web/static";

export default defineConfig({
  base: "/",
  build: {
    outDir,
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    // maplibre-gl alone is ~1 MB minified; it is served locally, never over the internet.
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      output: { manualChunks: { maplibre: ["maplibre-gl"], milsymbol: ["milsymbol"] } },
    },
    // The Natural Earth TopoJSON is fetched as a hashed file, not inlined into the bundle.
    assetsInlineLimit: 0,
  },
  server: {
    // `npm run dev` against a local allied-c2 server on its default port.
    proxy: {
      "/api": { target: "http://127.0.0.1:8080", ws: true },
    },
  },
});
