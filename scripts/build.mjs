// Builds dist/: the server and the CLI, each bundled by esbuild into one ESM file (no code
// splitting: a shared chunk would run type-graphql's decorators before reflect-metadata loads). One bundle
// starts in about half the time of hundreds of separately resolved modules (bench/startup).
// better-sqlite3 stays external (native addon); type checking is `tsc --noEmit` (npm test).
// dist/explorer is the development explorer's browser bundle (scripts/build-explorer.mjs), which
// keeps it while its inputs are unchanged; everything else in dist/ is rebuilt every time.
import { build } from "esbuild";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { buildExplorer } from "./build-explorer.mjs";

for (const entry of existsSync("dist") ? readdirSync("dist") : []) {
  if (entry !== "explorer") rmSync(join("dist", entry), { recursive: true, force: true });
}
const server = build({
  entryPoints: { main: "src/main.ts", bin: "src/bin.ts" },
  outdir: "dist",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  // Without comments the bundle is plain ASCII: a few non-ASCII characters in dependencies'
  // comments made V8 hold all 5 MB of source as two-byte text (10 MiB of RSS). Names are kept.
  minifyWhitespace: true,
  charset: "ascii",
  // Optional peers we do not use; leaving them out keeps the bundle honest about that.
  external: ["better-sqlite3", "class-validator", "@apollo/protobufjs"],
  banner: { js: "import { createRequire as __portcullisRequire } from 'node:module'; const require = __portcullisRequire(import.meta.url);" },
  logLevel: "warning",
});
await Promise.all([server, buildExplorer("dist/explorer")]);
