// What Portcullis adds to a model call: latency (p50, p99) and server CPU of invokeModel through
// a virtual key, next to a direct call to the same mock provider, in one run. The mock
// provider and Portcullis each run in their own child process (so that neither shares an
// event loop with the load generator); requests go one at a time, so latency is not queueing.
// Bounded: BENCH_ROUNDS interleaved rounds of BENCH_CALLS calls per case (after a warm-up).
// Also measured, for scale: an authenticated `{ viewer { principalId } }` (the GraphQL floor).
//   npm run bench:invoke     (BENCH_ROUNDS=3 BENCH_CALLS=2000)
import "reflect-metadata";
import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pool } from "undici";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CALLS = Number(process.env.BENCH_CALLS ?? 2000);
const WARMUP = 300;

type Message = { url?: string; ownerKey?: string; cpu?: { user: number; system: number } };

/** The mock provider of the tests, alone in its process. */
async function mock(): Promise<void> {
  const { startMockProvider } = await import("../test/harness/mock-provider.js");
  const provider = await startMockProvider();
  process.send!({ url: provider.url } satisfies Message);
  process.on("message", (m) => {
    // Its request log grows with every call; the bench has no use for it.
    if (m === "cpu") {
      provider.requests.length = 0;
      process.send!({ cpu: process.cpuUsage() } satisfies Message);
    }
  });
  process.on("disconnect", async () => {
    await provider.close();
    process.exit(0);
  });
}

/** Portcullis with a development configuration that lets provider URLs use loopback. */
async function serve(): Promise<void> {
  const { loadConfig } = await import("../src/config.js");
  const { buildServer } = await import("../src/server.js");
  const { createLogger } = await import("../src/logger.js");
  const dataDir = mkdtempSync(join(tmpdir(), "portcullis-bench-"));
  const config = loadConfig({
    PORTCULLIS_DATA_DIR: dataDir,
    PORTCULLIS_MASTER_KEYS: "1:" + Buffer.alloc(32, 9).toString("base64"),
    PORTCULLIS_LOG_LEVEL: "silent",
    PORTCULLIS_ALLOW_PRIVATE_NETWORK: "true",
  });
  const server = await buildServer(config, { logger: createLogger("silent") });
  const { url } = await server.listen(0, "127.0.0.1");
  process.send!({ url, ownerKey: server.bootstrap!.ownerApiKey } satisfies Message);
  process.on("message", (m) => {
    if (m === "cpu") process.send!({ cpu: process.cpuUsage() } satisfies Message);
  });
  process.on("disconnect", async () => {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
}

function start(role: string): Promise<{ child: ChildProcess; ready: Message }> {
  const child = fork(process.argv[1], [role], { execArgv: [...process.execArgv, ...(role === "--serve" && process.env.BENCH_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [])], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  return new Promise((resolve, reject) => {
    child.once("message", (m) => resolve({ child, ready: m as Message }));
    child.once("exit", (code) => reject(new Error(`${role} exited early (${code})`)));
  });
}

function cpuOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once("message", (m) => resolve(((m as Message).cpu!.user + (m as Message).cpu!.system) as number));
    child.send("cpu");
  });
}

interface Case {
  name: string;
  pool: Pool;
  path: string;
  headers: Record<string, string>;
  body: string;
  expect: string;
  /** The process whose CPU the case is charged with. */
  server: ChildProcess;
}

async function once(c: Case): Promise<void> {
  const res = await c.pool.request({ method: "POST", path: c.path, headers: c.headers, body: c.body });
  const text = await res.body.text();
  if (res.statusCode !== 200 || !text.includes(c.expect)) throw new Error(`${c.name}: unexpected answer ${res.statusCode} ${text.slice(0, 300)}`);
}

async function round(c: Case): Promise<{ latenciesUs: number[]; cpuUsPerCall: number }> {
  const latenciesUs: number[] = [];
  const cpuBefore = await cpuOf(c.server);
  for (let i = 0; i < CALLS; i++) {
    const started = process.hrtime.bigint();
    await once(c);
    latenciesUs.push(Number(process.hrtime.bigint() - started) / 1000);
  }
  const cpuAfter = await cpuOf(c.server);
  return { latenciesUs, cpuUsPerCall: (cpuAfter - cpuBefore) / CALLS };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const provider = await start("--mock");
  const portcullis = await start("--serve");
  const providerPool = new Pool(provider.ready.url!, { connections: 1, pipelining: 1 });
  const portcullisPool = new Pool(portcullis.ready.url!, { connections: 1, pipelining: 1 });
  const owner = { "content-type": "application/json", authorization: `Bearer ${portcullis.ready.ownerKey}` };
  try {
    const created = await (
      await portcullisPool.request({
        method: "POST",
        path: "/graphql",
        headers: owner,
        body: JSON.stringify({
          query: "mutation($input: CreateVirtualKeyInput!) { createVirtualKey(input: $input) { id } }",
          variables: { input: { name: "Bench", provider: "OPENAI_COMPATIBLE", secret: `sk-bench-${"x".repeat(40)}`, baseUrl: provider.ready.url } },
        }),
      })
    ).body.json();
    const virtualKeyId = (created as { data: { createVirtualKey: { id: string } } }).data.createVirtualKey.id;
    const messages = [{ role: "USER", content: "Say hello in five words." }];
    const cases: Case[] = [
      {
        name: "direct POST /v1/chat/completions to the mock",
        pool: providerPool,
        path: "/v1/chat/completions",
        headers: { "content-type": "application/json", authorization: `Bearer sk-bench-${"x".repeat(40)}` },
        body: JSON.stringify({ model: "gpt-4o-mini", messages: messages.map((m) => ({ role: "user", content: m.content })) }),
        expect: "chat.completion",
        server: provider.child,
      },
      {
        name: "invokeModel through Portcullis",
        pool: portcullisPool,
        path: "/graphql",
        headers: owner,
        body: JSON.stringify({
          query: "mutation($input: InvokeModelInput!) { invokeModel(input: $input) { id message { content } usage { totalTokens } } }",
          variables: { input: { virtualKey: virtualKeyId, model: "gpt-4o-mini", messages } },
        }),
        expect: "mock reply",
        server: portcullis.child,
      },
      {
        name: "viewer through Portcullis (GraphQL floor)",
        pool: portcullisPool,
        path: "/graphql",
        headers: owner,
        body: JSON.stringify({ query: "{ viewer { principalId } }" }),
        expect: "principalId",
        server: portcullis.child,
      },
    ];
    console.log(`portcullis invoke bench: one call at a time on loopback, ${ROUNDS} interleaved rounds of ${CALLS} calls per case, Node ${process.version}`);
    for (const c of cases) for (let i = 0; i < WARMUP; i++) await once(c);
    const results = new Map<string, { p50: number[]; p99: number[]; cpu: number[] }>(cases.map((c) => [c.name, { p50: [], p99: [], cpu: [] }]));
    for (let r = 0; r < ROUNDS; r++) {
      for (const c of cases) {
        const { latenciesUs, cpuUsPerCall } = await round(c);
        const sorted = latenciesUs.sort((a, b) => a - b);
        const entry = results.get(c.name)!;
        entry.p50.push(percentile(sorted, 50));
        entry.p99.push(percentile(sorted, 99));
        entry.cpu.push(cpuUsPerCall);
      }
    }
    const summary = cases.map((c) => {
      const e = results.get(c.name)!;
      const s = { name: c.name, p50: median(e.p50), p99: median(e.p99), cpu: median(e.cpu) };
      console.log(`${c.name.padEnd(46)} p50 ${s.p50.toFixed(0).padStart(6)} us   p99 ${s.p99.toFixed(0).padStart(6)} us   server CPU ${s.cpu.toFixed(0).padStart(5)} us/call`);
      return s;
    });
    const [direct, invoke, viewer] = summary;
    console.log(`overhead of invokeModel at p50: ${(invoke.p50 - direct.p50).toFixed(0)} us (ratio ${(invoke.p50 / direct.p50).toFixed(2)}x); at p99: ${(invoke.p99 - direct.p99).toFixed(0)} us`);
    console.log(`Portcullis CPU per invokeModel: ${invoke.cpu.toFixed(0)} us (mock provider: ${direct.cpu.toFixed(0)} us per call; viewer query: ${viewer.cpu.toFixed(0)} us)`);
    console.log(`invokeModel beyond the GraphQL floor (viewer) at p50: ${(invoke.p50 - viewer.p50).toFixed(0)} us`);
    console.log("for scale (DESIGN.md): a bare undici proxy adds about 56 us at p50, Portkey's gateway about 620 us");
  } finally {
    await providerPool.close();
    await portcullisPool.close();
    provider.child.disconnect();
    portcullis.child.disconnect();
  }
}

if (process.argv.includes("--mock")) await mock();
else if (process.argv.includes("--serve")) await serve();
else await main();
