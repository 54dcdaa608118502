// npm start builds dist/ when src/, explorer/ or package.json is newer than the built server, or
// the explorer is missing (the build itself decides whether the explorer needs rebuilding).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function newest(dir) {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const built = existsSync("dist/main.js") && existsSync("dist/explorer/explorer.js") ? statSync("dist/main.js").mtimeMs : 0;
const source = Math.max(newest("src"), newest("explorer"), statSync("package.json").mtimeMs);
if (source > built) {
  console.error("portcullis: building dist/ ...");
  const r = spawnSync(process.execPath, ["scripts/build.mjs"], { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
