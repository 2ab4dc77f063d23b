// Builds the test app into the folder given as the only argument: the
// pages of app/ and app.js bundled with esbuild for the browser. Run by
// the Go test browser_test.go before it serves the folder.
import { build } from "esbuild";
import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";

const out = process.argv[2];
if (!out) {
  console.error("usage: node build.mjs OUTDIR");
  process.exit(2);
}
await mkdir(out, { recursive: true });
await build({
  entryPoints: ["app/app.js"],
  bundle: true,
  outfile: join(out, "app.js"),
  platform: "browser",
  format: "iife",
  target: "es2022",
  sourcemap: true,
  logLevel: "warning",
  define: { global: "globalThis" },
});
for (const page of ["index.html", "csrf.html"]) {
  await copyFile(join("app", page), join(out, page));
}
