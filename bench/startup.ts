// Time from starting the compiled server to /readyz answering, and resident memory at idle,
// next to a bare node:http server started the same way (the baseline of this run).
// Usage: npm run build && npx tsx bench/startup.ts [runs]
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const runs = Number(process.argv[2] ?? 5);
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const masterKeys = "1:" + Buffer.alloc(32, 5).toString("base64");
const BARE = `require("node:http").createServer((q, s) => s.end("ok")).listen(0, "127.0.0.1", function () { console.log("listening on http://127.0.0.1:" + this.address().port + "/graphql"); });`;

interface Sample {
  readyMs: number;
  rssMb: number;
}

async function measure(args: string[], env: Record<string, string>, readyPath: string): Promise<Sample> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (c) => (out += c));
  child.stderr.on("data", () => {});
  try {
    const deadline = Date.now() + 20_000;
    let base: string | undefined;
    for (;;) {
      if (Date.now() > deadline) throw new Error("server did not become ready");
      base ??= /listening on (http:\/\/[^\s"]+)\/graphql/.exec(out)?.[1];
      if (base) {
        const ok = await fetch(base + readyPath).then((r) => r.ok, () => false);
        if (ok) break;
      } else {
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    const readyMs = performance.now() - started;
    await new Promise((r) => setTimeout(r, 1000)); // idle
    const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { readyMs, rssMb: rssKb / 1024 };
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const dataDir = mkdtempSync(join(tmpdir(), "portcullis-bench-"));
try {
  const env = { PORT: "0", PORTCULLIS_DATA_DIR: dataDir, PORTCULLIS_MASTER_KEYS: masterKeys, PORTCULLIS_LOG_LEVEL: "info" };
  const bare: Sample[] = [];
  const first = await measure([join(root, "dist", "main.js")], env, "/readyz");
  console.log(`first start (creates the database, migrates, bootstraps): ready in ${first.readyMs.toFixed(0)} ms`);
  const warm: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    warm.push(await measure([join(root, "dist", "main.js")], env, "/readyz"));
    bare.push(await measure(["-e", BARE], {}, "/"));
    process.stderr.write(`run ${i + 1}/${runs}\r`);
  }
  const readyMs = median(warm.map((s) => s.readyMs));
  const bareMs = median(bare.map((s) => s.readyMs));
  const rss = median(warm.map((s) => s.rssMb));
  const bareRss = median(bare.map((s) => s.rssMb));
  console.log(`portcullis: start to /readyz ${readyMs.toFixed(0)} ms (median of ${runs}), idle RSS ${rss.toFixed(1)} MB`);
  console.log(`bare node:http baseline: start to first answer ${bareMs.toFixed(0)} ms, idle RSS ${bareRss.toFixed(1)} MB`);
  console.log(`ratio: ${(readyMs / bareMs).toFixed(2)}x the start time, ${(rss / bareRss).toFixed(2)}x the memory of the baseline`);
  console.log(`goals: start under 1000 ms: ${readyMs < 1000 ? "met" : "MISSED"}; idle RSS under 120 MB: ${rss < 120 ? "met" : "MISSED"}`);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
