// npm test: typecheck, then vitest; ends with the plain "N passed, N failed" line CI reads.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";

const report = ".vitest-report.json";
const run = (cmd, args) => spawnSync(cmd, args, { stdio: "inherit" }).status ?? 1;

// The explorer is browser code with its own tsconfig (DOM types, bundler resolution).
if (run("npx", ["tsc", "--noEmit"]) !== 0 || run("npx", ["tsc", "--noEmit", "-p", "explorer"]) !== 0) {
  console.log("typecheck failed");
  console.log("0 passed, 1 failed");
  process.exit(1);
}
// The CLI tests run the compiled bin, as an operator would.
if (run(process.execPath, ["scripts/build.mjs"]) !== 0) {
  console.log("build failed");
  console.log("0 passed, 1 failed");
  process.exit(1);
}
rmSync(report, { force: true });
const status = run("npx", ["vitest", "run", "--reporter=default", "--reporter=json", `--outputFile=${report}`, ...process.argv.slice(2)]);
if (!existsSync(report)) {
  console.log("0 passed, 1 failed");
  process.exit(status || 1);
}
const r = JSON.parse(readFileSync(report, "utf8"));
console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed`);
process.exit(status !== 0 || r.numFailedTests > 0 || r.numTotalTests === 0 ? 1 : 0);
