// Builds dist/explorer/: GraphiQL and its Monaco workers (explorer/main.ts), for the development
// explorer that src/http/explorer.ts serves. Everything the page loads is a file here.
// It doubles the build's CPU time, so it is skipped while its inputs are unchanged (the lockfile,
// explorer/ and this file), which they are for nearly every build of the server.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const common = {
  bundle: true,
  platform: "browser",
  target: "es2022",
  minify: true,
  charset: "ascii",
  legalComments: "none",
  define: { "process.env.NODE_ENV": '"production"' },
  // GraphiQL and monaco-graphql import prettier's parser-* entries, UMD scripts whose named
  // exports esbuild (like Node) cannot see, so prettify found no parser; plugins/* are the same
  // parsers as ES modules.
  alias: { "prettier/parser-graphql": "prettier/plugins/graphql", "prettier/parser-babel": "prettier/plugins/babel" },
  logLevel: "warning",
};

// graphiql/style.css already holds Monaco's stylesheets (the same pinned version); the copies
// Monaco's modules import would load twice, or not at all from lazy chunks.
const monacoStylesInGraphiql = {
  name: "monaco-styles-in-graphiql",
  setup(b) {
    b.onLoad({ filter: /[\\/]monaco-editor[\\/]esm[\\/].*\.css$/ }, () => ({ contents: "", loader: "empty" }));
  },
};

export async function buildExplorer(outdir) {
  const stamp = join(outdir, ".inputs");
  const inputs = inputsHash();
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === inputs) return;
  rmSync(outdir, { recursive: true, force: true });
  await Promise.all([
    // Lazy parts (prettier, language features) become chunks that load when first used.
    build({ ...common, entryPoints: { explorer: "explorer/main.ts" }, outdir, format: "esm", splitting: true, chunkNames: "chunk-[hash]", plugins: [monacoStylesInGraphiql] }),
    // Workers are single classic scripts: no module workers, nothing they import later.
    build({
      ...common,
      entryPoints: {
        "editor.worker": "monaco-editor/esm/vs/editor/editor.worker.js",
        "json.worker": "monaco-editor/esm/vs/language/json/json.worker.js",
        "graphql.worker": "monaco-graphql/esm/graphql.worker.js",
      },
      outdir,
      format: "iife",
    }),
  ]);
  extractDataUrls(join(outdir, "explorer.css"), outdir);
  writeFileSync(stamp, inputs);
}

function inputsHash() {
  const hash = createHash("sha256");
  const files = ["package-lock.json", "scripts/build-explorer.mjs", ...readdirSync("explorer").sort().map((f) => join("explorer", f))];
  for (const file of files) hash.update(file).update("\0").update(readFileSync(file)).update("\0");
  return hash.digest("hex");
}

const extensions = { "font/woff2": "woff2", "font/woff": "woff", "font/ttf": "ttf", "image/svg+xml": "svg", "image/png": "png" };

// GraphiQL's stylesheet inlines its fonts and icons as data: URLs; as files they load from 'self'.
function extractDataUrls(cssFile, outdir) {
  const css = readFileSync(cssFile, "utf8").replace(/url\(\s*(["']?)data:([^;,"')]+)(;base64)?,([^"')]*)\1\s*\)/g, (_all, _quote, type, base64, data) => {
    const extension = extensions[type];
    if (!extension) throw new Error(`explorer.css: no file type for a data: URL of ${type}`);
    const bytes = base64 ? Buffer.from(data, "base64") : Buffer.from(decodeURIComponent(data));
    const name = `inline-${createHash("sha256").update(bytes).digest("hex").slice(0, 12)}.${extension}`;
    writeFileSync(join(outdir, name), bytes);
    return `url(./${name})`;
  });
  writeFileSync(cssFile, css);
}
