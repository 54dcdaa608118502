// What the gateway costs next to a bare proxy, on the real product: throughput at 10
// connections, latency at 1 connection, server CPU per call, peak RSS and the time to first
// byte of a streamed answer, for four cases against one mock provider, checked against the
// targets of DESIGN.md "Speed" at the end.
//   1. direct: POST /v1/chat/completions to the mock provider;
//   2. floor: a bare undici pass-through proxy in front of the mock (the least a gateway costs);
//   3. Portcullis POST /v1/chat/completions with a service API key, model "@<virtual key>/<model>";
//   4. Portcullis GraphQL invokeModel with the same key.
// The mock, the floor proxy and Portcullis (the compiled server, `node dist/main.js`, configured
// by its environment like in production) each run in their own child process; the load
// (autocannon, undici) comes from this process. Budget and rate-limit policies are attached to
// the API key and to the virtual key, so that enforcement is on. Cases alternate in every round.
// Everything stays on 127.0.0.1 and every loop is bounded in count and time.
//   npm run bench:gateway
//   BENCH_SECONDS (10) seconds per throughput round; BENCH_CALLS (1500) calls per case per latency
//   round; BENCH_ROUNDS (2); BENCH_STREAM_CALLS (300) streamed calls per case;
//   BENCH_PROFILE=dir writes a CPU profile of the Portcullis process into dir;
//   BENCH_NODE_ARGS replaces the Node flags of `npm start` the server runs with (to compare heap settings);
//   BENCH_CASES=v1 or =invoke runs only that Portcullis case (with direct and floor), to profile one door.
// Exits 0 whatever the numbers (it is a bench, not a test), non-zero if a case answers wrongly.
import { execFileSync, fork, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders } from "node:http";
import { cpus, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { Pool } from "undici";
import { freePort, startFlags, waitUntilReady } from "./server-process.js";

const SECONDS = Math.max(1, Math.round(Number(process.env.BENCH_SECONDS ?? 10)));
const CALLS = Math.max(10, Number(process.env.BENCH_CALLS ?? 1500));
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 2));
const STREAM_CALLS = Math.max(10, Number(process.env.BENCH_STREAM_CALLS ?? 300));
const CONNECTIONS = 10;
const WARMUP_SECONDS = Math.min(2, SECONDS);
const WARMUP_CALLS = 200;
/** No single 1-connection round runs longer than this, whatever BENCH_CALLS says. */
const ROUND_DEADLINE_MS = 60_000;
/** The whole run stops by itself after this. */
const OVERALL_LIMIT_MS = (ROUNDS * 4 * (SECONDS + 5) + 4 * WARMUP_SECONDS + 300) * 1000;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const MODEL = "gpt-4o-mini";
const SLUG = "bench";
const PROVIDER_SECRET = `sk-bench-${"x".repeat(40)}`;
const PROMPT = "Say hello in five words.";
const EXPECT = `mock reply to: ${PROMPT}`;

const log = (line: string) => console.log(`[bench:gateway] ${line}`);

// ---------------------------------------------------------------- child processes

/** The mock provider of the tests, alone in its process. */
async function mockChild(): Promise<void> {
  const { startMockProvider } = await import("../test/harness/mock-provider.js");
  const provider = await startMockProvider();
  // Its request log grows with every call; the bench has no use for it.
  setInterval(() => provider.reset(), 500).unref();
  process.send!({ url: provider.url });
  process.on("disconnect", () => void provider.close().then(() => process.exit(0)));
}

/** The floor: a bare pass-through proxy on an undici Pool, the least any gateway costs. */
async function proxyChild(target: string): Promise<void> {
  const pool = new Pool(target, { connections: 64, pipelining: 1 });
  const hopByHop = new Set(["host", "connection", "keep-alive", "transfer-encoding", "upgrade", "expect", "proxy-connection", "te", "trailer"]);
  const strip = (headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>, drop?: string) => {
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(headers)) if (v !== undefined && !hopByHop.has(k) && k !== drop) out[k] = v;
    return out;
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      try {
        const upstream = await pool.request({ method: req.method as "POST", path: req.url ?? "/", headers: strip(req.headers, "content-length"), body: Buffer.concat(chunks) });
        res.writeHead(upstream.statusCode, strip(upstream.headers));
        for await (const chunk of upstream.body) res.write(chunk);
        res.end();
      } catch {
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  process.send!({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}` });
  process.on("disconnect", () => {
    server.closeAllConnections();
    server.close(() => void pool.close().then(() => process.exit(0)));
  });
}

function forkChild(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(process.argv[1], args, { execArgv: process.execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  return new Promise((done, fail) => {
    child.once("message", (m) => done({ child, url: (m as { url: string }).url }));
    child.once("exit", (code) => fail(new Error(`${args[0]} exited early (${code})`)));
  });
}

interface Portcullis {
  child: ChildProcess;
  url: string;
  ownerKey: string;
  dataDir: string;
}

/** The compiled server as it runs for real, configured by its environment. */
async function startPortcullis(): Promise<Portcullis> {
  const { generateApiKey } = await import("../src/crypto/api-key-format.js");
  const { newId } = await import("../src/ids.js");
  const ownerKey = generateApiKey(newId("ApiKey")).token;
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "portcullis-bench-gateway-"));
  const profile = process.env.BENCH_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${resolve(process.env.BENCH_PROFILE)}`] : [];
  // The Node flags of `npm start` (heap sizing), unless BENCH_NODE_ARGS gives others to compare.
  const nodeArgs = process.env.BENCH_NODE_ARGS === undefined ? startFlags() : process.env.BENCH_NODE_ARGS.split(" ").filter(Boolean);
  log(`Portcullis runs as: node ${[...nodeArgs, "dist/main.js"].join(" ")}`);
  const child = spawn(process.execPath, [...profile, ...nodeArgs, join(ROOT, "dist/main.js")], {
    cwd: ROOT,
    stdio: ["ignore", "inherit", "inherit"],
    env: {
      PATH: process.env.PATH,
      NODE_ENV: "production",
      PORT: String(port),
      HOST: "127.0.0.1",
      PORTCULLIS_DATA_DIR: dataDir,
      PORTCULLIS_MASTER_KEYS: "1:" + Buffer.alloc(32, 9).toString("base64"),
      PORTCULLIS_BOOTSTRAP_KEY: ownerKey,
      PORTCULLIS_ALLOW_PRIVATE_NETWORK: "true",
      PORTCULLIS_LOG_LEVEL: "warn",
    },
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(child, url, { timeoutMs: 30_000, pollMs: 100, requestTimeoutMs: 2000 });
  } catch (err) {
    await stopChild(child, false);
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return { child, url, ownerKey, dataDir };
}

function stopChild(child: ChildProcess, viaDisconnect: boolean): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(kill);
      done();
    });
    if (viaDisconnect && child.connected) child.disconnect();
    else child.kill("SIGTERM");
  });
}

// ---------------------------------------------------------------- /proc

const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User plus system CPU of a process (all its threads) in microseconds. */
function cpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLK_TCK;
}

/** VmRSS and VmHWM in MiB. */
function memory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
}

// ---------------------------------------------------------------- the cases

interface Case {
  key: "direct" | "floor" | "v1" | "invoke";
  name: string;
  url: string;
  pool: Pool;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** What every answer must contain. */
  expect: string[];
  /** The process charged with the case's CPU (the one under test). */
  pid: number;
  available: boolean;
  failure?: string;
}

async function callOnce(c: { pool: Pool; path: string; headers: Record<string, string>; body: string }): Promise<{ status: number; text: string }> {
  const res = await c.pool.request({ method: "POST", path: c.path, headers: c.headers, body: c.body, headersTimeout: 10_000, bodyTimeout: 10_000 });
  return { status: res.statusCode, text: await res.body.text() };
}

function wrongAnswer(c: Case, status: number, text: string): string | undefined {
  if (status !== 200) return `status ${status}: ${text.slice(0, 300)}`;
  if (text.includes('"errors"')) return `errors: ${text.slice(0, 300)}`;
  const missing = c.expect.find((e) => !text.includes(e));
  return missing ? `answer lacks ${JSON.stringify(missing)}: ${text.slice(0, 300)}` : undefined;
}

async function graphql(pool: Pool, key: string, query: string, variables: Record<string, unknown> = {}): Promise<any> {
  const { status, text } = await callOnce({ pool, path: "/graphql", headers: { "content-type": "application/json", authorization: `Bearer ${key}` }, body: JSON.stringify({ query, variables }) });
  const parsed = JSON.parse(text) as { data?: any; errors?: { message: string }[] };
  if (status !== 200 || parsed.errors) throw new Error(`setup failed (${status}): ${text.slice(0, 500)}`);
  return parsed.data;
}

/** A workspace-less virtual key, a service key with MODEL_INVOKE, and enforcement on both. */
async function setUp(pool: Pool, ownerKey: string, providerUrl: string): Promise<{ serviceKey: string; serviceKeyId: string; virtualKeyId: string }> {
  const vk = await graphql(pool, ownerKey, "mutation($i: CreateVirtualKeyInput!) { createVirtualKey(input: $i) { id slug } }", {
    i: { name: "Bench provider", slug: SLUG, provider: "OPENAI_COMPATIBLE", secret: PROVIDER_SECRET, baseUrl: providerUrl },
  });
  const role = await graphql(pool, ownerKey, "mutation($i: CreateRoleInput!) { createRole(input: $i) { id } }", { i: { name: "Bench invoker", permissions: ["MODEL_INVOKE"] } });
  const key = await graphql(pool, ownerKey, "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { apiKey { id } secret } }", { i: { name: "Bench service", roleIds: [role.createRole.id] } });
  const budget = await graphql(pool, ownerKey, "mutation($i: CreatePolicyInput!) { createPolicy(input: $i) { id } }", { i: { name: "Bench budget", budget: { limitUsd: 1_000_000, period: "MONTH" } } });
  const rate = await graphql(pool, ownerKey, "mutation($i: CreatePolicyInput!) { createPolicy(input: $i) { id } }", {
    i: { name: "Bench rate limit", rateLimit: { requestsPerMinute: 1_000_000, tokensPerMinute: 1_000_000_000 } },
  });
  for (const targetId of [key.createApiKey.apiKey.id, vk.createVirtualKey.id]) {
    for (const policyId of [budget.createPolicy.id, rate.createPolicy.id]) {
      await graphql(pool, ownerKey, "mutation($t: ID!, $p: ID!) { attachPolicy(targetId: $t, policyId: $p) { id } }", { t: targetId, p: policyId });
    }
  }
  return { serviceKey: key.createApiKey.secret, serviceKeyId: key.createApiKey.apiKey.id, virtualKeyId: vk.createVirtualKey.id };
}

// ---------------------------------------------------------------- measuring

const sortNum = (xs: number[]) => [...xs].sort((a, b) => a - b);
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
function median(xs: number[]): number {
  const s = sortNum(xs);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

interface Load {
  rps: number;
  cpuUsPerCall: number;
  bad: number;
  firstBad?: string;
}

async function load(c: Case, seconds: number, onSample?: () => void): Promise<Load> {
  let bad = 0;
  let firstBad: string | undefined;
  const cpuBefore = cpuUs(c.pid);
  const sampler = onSample ? setInterval(onSample, 100) : undefined;
  try {
    const result = await autocannon({
      url: c.url,
      connections: CONNECTIONS,
      pipelining: 1,
      duration: seconds,
      timeout: 10,
      requests: [
        {
          method: "POST",
          path: c.path,
          headers: c.headers,
          body: c.body,
          onResponse: (status, body) => {
            const wrong = wrongAnswer(c, status, body);
            if (wrong) {
              bad++;
              firstBad ??= wrong;
            }
          },
        },
      ],
    });
    const cpu = cpuUs(c.pid) - cpuBefore;
    const total = result.requests.total;
    const failed = result.errors + result.timeouts;
    if (failed > 0) firstBad ??= `${result.errors} connection errors, ${result.timeouts} timeouts`;
    return { rps: total / result.duration, cpuUsPerCall: total > 0 ? cpu / total : NaN, bad: bad + failed, firstBad };
  } finally {
    if (sampler) clearInterval(sampler);
  }
}

async function serial(c: Case, calls: number): Promise<{ latenciesUs: number[]; cpuUsPerCall: number; firstBad?: string }> {
  const latenciesUs: number[] = [];
  const cpuBefore = cpuUs(c.pid);
  const deadline = Date.now() + ROUND_DEADLINE_MS;
  for (let i = 0; i < calls && Date.now() < deadline; i++) {
    const started = process.hrtime.bigint();
    const { status, text } = await callOnce(c);
    latenciesUs.push(Number(process.hrtime.bigint() - started) / 1000);
    const wrong = wrongAnswer(c, status, text);
    if (wrong) return { latenciesUs, cpuUsPerCall: NaN, firstBad: wrong };
  }
  return { latenciesUs, cpuUsPerCall: (cpuUs(c.pid) - cpuBefore) / latenciesUs.length };
}

/** Microseconds until the first SSE `data:` line of a streamed answer, or why there is none. */
async function firstData(pool: Pool, path: string, headers: Record<string, string>, body: string): Promise<{ us: number } | { unavailable: string }> {
  const started = process.hrtime.bigint();
  const res = await pool.request({ method: "POST", path, headers, body, headersTimeout: 10_000, bodyTimeout: 10_000 });
  if (res.statusCode !== 200) {
    const text = await res.body.text();
    return { unavailable: `status ${res.statusCode}: ${text.slice(0, 120)}` };
  }
  let us = -1;
  let seen = "";
  for await (const chunk of res.body) {
    if (us < 0) {
      seen += (chunk as Buffer).toString("utf8");
      if (/(^|\n)data:/.test(seen)) us = Number(process.hrtime.bigint() - started) / 1000;
    }
  }
  if (us < 0) return { unavailable: `status 200 without an SSE data: line, content-type ${String(res.headers["content-type"])}` };
  return { us };
}

const us = (n: number) => (Number.isFinite(n) ? `${n.toFixed(0)} us` : "n/a");
const pad = (s: string, n: number) => s.padStart(n);

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  log(`Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model.trim()}); ${ROUNDS} rounds; ${SECONDS} s per throughput run at ${CONNECTIONS} connections; ${CALLS} calls per case per latency round; ${STREAM_CALLS} streamed calls per case`);
  log("starting the mock provider, the floor proxy and Portcullis (dist/main.js), each in its own process");
  const children: { child: ChildProcess; ipc: boolean }[] = [];
  let portcullis: Portcullis | undefined;
  const pools: Pool[] = [];
  const stopAll = async () => {
    await Promise.all(pools.map((p) => p.close().catch(() => {})));
    await Promise.all(children.map(({ child, ipc }) => stopChild(child, ipc)));
    if (portcullis) rmSync(portcullis.dataDir, { recursive: true, force: true });
  };
  process.once("exit", () => {
    for (const { child } of children) if (child.exitCode === null) child.kill("SIGKILL");
  });
  const watchdog = setTimeout(() => {
    console.error(`[bench:gateway] stopped: the run took longer than ${OVERALL_LIMIT_MS / 1000} s`);
    void stopAll().finally(() => process.exit(2));
  }, OVERALL_LIMIT_MS);
  watchdog.unref();

  try {
    const mock = await forkChild(["--mock"]);
    children.push({ child: mock.child, ipc: true });
    const proxy = await forkChild(["--proxy", mock.url]);
    children.push({ child: proxy.child, ipc: true });
    portcullis = await startPortcullis();
    children.push({ child: portcullis.child, ipc: false });
    const pid = (ch: ChildProcess) => ch.pid!;

    const mockPool = new Pool(mock.url, { connections: 1, pipelining: 1 });
    const proxyPool = new Pool(proxy.url, { connections: 1, pipelining: 1 });
    const portcullisPool = new Pool(portcullis.url, { connections: 1, pipelining: 1 });
    pools.push(mockPool, proxyPool, portcullisPool);

    log("setting up over GraphQL: virtual key, service API key (MODEL_INVOKE), budget and rate-limit policies on both");
    const { serviceKey, serviceKeyId } = await setUp(portcullisPool, portcullis.ownerKey, mock.url);

    const json = { "content-type": "application/json" };
    const openAiBody = (model: string, extra: Record<string, unknown> = {}) => JSON.stringify({ model, messages: [{ role: "user", content: PROMPT }], ...extra });
    const providerHeaders = { ...json, authorization: `Bearer ${PROVIDER_SECRET}` };
    const serviceHeaders = { ...json, authorization: `Bearer ${serviceKey}` };
    const cases: Case[] = [
      { key: "direct", name: "direct to the mock", url: mock.url, pool: mockPool, path: "/v1/chat/completions", headers: providerHeaders, body: openAiBody(MODEL), expect: ['"chat.completion"', EXPECT], pid: pid(mock.child), available: true },
      { key: "floor", name: "floor (undici proxy)", url: proxy.url, pool: proxyPool, path: "/v1/chat/completions", headers: providerHeaders, body: openAiBody(MODEL), expect: ['"chat.completion"', EXPECT], pid: pid(proxy.child), available: true },
      { key: "v1", name: "Portcullis /v1/chat/completions", url: portcullis.url, pool: portcullisPool, path: "/v1/chat/completions", headers: serviceHeaders, body: openAiBody(`@${SLUG}/${MODEL}`), expect: ['"chat.completion"', EXPECT], pid: pid(portcullis.child), available: true },
      {
        key: "invoke",
        name: "Portcullis invokeModel",
        url: portcullis.url,
        pool: portcullisPool,
        path: "/graphql",
        headers: serviceHeaders,
        body: JSON.stringify({
          query: "mutation($input: InvokeModelInput!) { invokeModel(input: $input) { id message { content } usage { totalTokens } } }",
          variables: { input: { virtualKey: SLUG, model: MODEL, messages: [{ role: "USER", content: PROMPT }] } },
        }),
        expect: ['"invokeModel"', EXPECT],
        pid: pid(portcullis.child),
        available: true,
      },
    ];
    const byKey = (k: Case["key"]) => cases.find((c) => c.key === k)!;
    const live = () => cases.filter((c) => c.available);
    const fail = (c: Case, why: string) => {
      if (!c.available) return;
      c.available = false;
      c.failure = why;
      console.error(`[bench:gateway] ${c.name}: FAILED, left out from here on: ${why}`);
    };

    const only = process.env.BENCH_CASES?.split(",").map((k) => k.trim());
    for (const c of cases) if (only && c.key !== "direct" && c.key !== "floor" && !only.includes(c.key)) c.available = false;

    log("verifying that every case answers 200 with the expected content");
    for (const c of live()) {
      const { status, text } = await callOnce(c);
      const wrong = wrongAnswer(c, status, text);
      if (wrong) fail(c, wrong);
    }
    if (!byKey("direct").available || !byKey("floor").available) throw new Error("the direct or floor case does not work: nothing to compare with");

    // Throughput at 10 connections.
    log(`throughput warm-up: ${WARMUP_SECONDS} s per case at ${CONNECTIONS} connections`);
    for (const c of live()) {
      const r = await load(c, WARMUP_SECONDS);
      if (r.bad > 0) fail(c, `${r.bad} bad answers under load, first: ${r.firstBad}`);
    }
    const rss0 = memory(pid(portcullis.child));
    let sampledRss = rss0.rss;
    const sample = () => void (sampledRss = Math.max(sampledRss, memory(pid(portcullis!.child)).rss));
    const thr = new Map<Case["key"], { rps: number[]; cpu: number[] }>(cases.map((c) => [c.key, { rps: [], cpu: [] }]));
    for (let r = 1; r <= ROUNDS; r++) {
      for (const c of live()) {
        log(`throughput round ${r}/${ROUNDS}: ${c.name}, ${SECONDS} s`);
        const res = await load(c, SECONDS, c.pid === pid(portcullis.child) ? sample : undefined);
        if (res.bad > 0) fail(c, `${res.bad} bad answers under load, first: ${res.firstBad}`);
        thr.get(c.key)!.rps.push(res.rps);
        thr.get(c.key)!.cpu.push(res.cpuUsPerCall);
      }
    }
    const memAfterLoad = memory(pid(portcullis.child));

    // Latency at 1 connection.
    log(`latency warm-up: ${WARMUP_CALLS} calls per case, one at a time`);
    for (const c of live()) {
      const r = await serial(c, WARMUP_CALLS);
      if (r.firstBad) fail(c, r.firstBad);
    }
    const lat = new Map<Case["key"], { samples: number[]; cpu: number[] }>(cases.map((c) => [c.key, { samples: [], cpu: [] }]));
    for (let r = 1; r <= ROUNDS; r++) {
      log(`latency round ${r}/${ROUNDS}: ${CALLS} calls per case, one at a time, cases in turn`);
      for (const c of live()) {
        const res = await serial(c, CALLS);
        if (res.firstBad) fail(c, res.firstBad);
        lat.get(c.key)!.samples.push(...res.latenciesUs);
        lat.get(c.key)!.cpu.push(res.cpuUsPerCall);
      }
    }

    // Time to first byte of a streamed answer.
    log(`streaming: time to the first SSE data: line, ${STREAM_CALLS} calls per case, alternating`);
    const streamCases = [
      { name: "direct", pool: mockPool, headers: providerHeaders, body: openAiBody(MODEL, { stream: true }), samples: [] as number[], unavailable: undefined as string | undefined },
      { name: "Portcullis", pool: portcullisPool, headers: serviceHeaders, body: openAiBody(`@${SLUG}/${MODEL}`, { stream: true }), samples: [] as number[], unavailable: undefined as string | undefined },
    ];
    const streamDeadline = Date.now() + ROUND_DEADLINE_MS;
    for (let i = 0; i < STREAM_CALLS + 20 && Date.now() < streamDeadline; i++) {
      for (const s of streamCases) {
        if (s.unavailable) continue;
        try {
          const r = await firstData(s.pool, "/v1/chat/completions", s.headers, s.body);
          if ("unavailable" in r) s.unavailable = r.unavailable;
          else if (i >= 20) s.samples.push(r.us); // the first 20 are a warm-up
        } catch (err) {
          s.unavailable = (err as Error).message;
        }
      }
      if (streamCases.every((s) => s.unavailable)) break;
    }

    // The calls were accounted for: usage rows of the service key, priced (the budget counts them).
    const usage = (await graphql(portcullisPool, portcullis.ownerKey, "query($f: UsageFilter) { usage(filter: $f) { requests errors costUsd } }", { f: { apiKeyId: serviceKeyId } })).usage as {
      requests: number;
      errors: number;
      costUsd: number;
    };
    if ((byKey("v1").available || byKey("invoke").available) && !(usage.requests > 0 && usage.costUsd > 0)) {
      fail(byKey(byKey("v1").available ? "v1" : "invoke"), `no priced usage recorded for the service key: ${JSON.stringify(usage)}`);
    }

    // Report.
    const floorRps = median(thr.get("floor")!.rps);
    console.log("");
    console.log(`Throughput at ${CONNECTIONS} connections (median of ${ROUNDS} rounds of ${SECONDS} s)`);
    console.log(`  ${"case".padEnd(34)}${pad("req/s", 9)}${pad("vs floor", 10)}${pad("server CPU/call", 17)}`);
    for (const c of cases) {
      const t = thr.get(c.key)!;
      if (!c.available || t.rps.length === 0) {
        console.log(`  ${c.name.padEnd(34)}  not available: ${c.failure ?? "left out"}`);
        continue;
      }
      const rps = median(t.rps);
      console.log(`  ${c.name.padEnd(34)}${pad(rps.toFixed(0), 9)}${pad((rps / floorRps).toFixed(2) + "x", 10)}${pad(us(median(t.cpu)), 17)}`);
    }
    const directLat = sortNum(lat.get("direct")!.samples);
    const d50 = percentile(directLat, 50);
    const d99 = percentile(directLat, 99);
    console.log("");
    console.log(`Latency at 1 connection (${ROUNDS} interleaved rounds of ${CALLS} calls per case; added = over the direct call)`);
    console.log(`  ${"case".padEnd(34)}${pad("p50", 9)}${pad("p99", 9)}${pad("added p50", 11)}${pad("added p99", 11)}${pad("server CPU/call", 17)}`);
    const added = new Map<Case["key"], number>();
    for (const c of cases) {
      const l = lat.get(c.key)!;
      if (!c.available || l.samples.length === 0) {
        console.log(`  ${c.name.padEnd(34)}  not available: ${c.failure ?? "left out"}`);
        continue;
      }
      const s = sortNum(l.samples);
      const p50 = percentile(s, 50);
      const p99 = percentile(s, 99);
      added.set(c.key, p50 - d50);
      const extra = c.key === "direct" ? ["", ""] : [us(p50 - d50), us(p99 - d99)];
      console.log(`  ${c.name.padEnd(34)}${pad(us(p50), 9)}${pad(us(p99), 9)}${pad(extra[0], 11)}${pad(extra[1], 11)}${pad(us(median(l.cpu)), 17)}`);
    }
    console.log("  (server CPU: the mock for direct, the proxy alone for the floor, Portcullis alone for its cases; /proc utime+stime, all threads, CLK_TCK " + CLK_TCK + ")");
    console.log("");
    console.log("Memory of the Portcullis process (MiB)");
    console.log(`  VmRSS before the ${CONNECTIONS}-connection runs ${rss0.rss.toFixed(1)}, highest sampled VmRSS under load ${sampledRss.toFixed(1)}, VmRSS after ${memAfterLoad.rss.toFixed(1)}, peak VmHWM ${memAfterLoad.hwm.toFixed(1)}`);
    console.log(`Usage recorded for the service key: ${usage.requests} requests (${usage.errors} errors), $${usage.costUsd.toFixed(4)} counted against its budget`);
    console.log("");
    console.log(`Streaming: time to the first SSE data: line (p50 over ${STREAM_CALLS} calls per case)`);
    const [sDirect, sPort] = streamCases;
    const ttfb = (s: (typeof streamCases)[number]) => (s.unavailable ? undefined : percentile(sortNum(s.samples), 50));
    const ttfbDirect = ttfb(sDirect);
    const ttfbPort = ttfb(sPort);
    console.log(`  direct to the mock                ${ttfbDirect !== undefined ? us(ttfbDirect) : `not available (${sDirect.unavailable})`}`);
    console.log(`  Portcullis /v1/chat/completions   ${ttfbPort !== undefined ? us(ttfbPort) : `not available (${sPort.unavailable})`}`);
    if (ttfbDirect !== undefined && ttfbPort !== undefined) console.log(`  added time to first byte at p50   ${us(ttfbPort - ttfbDirect)}`);

    // Verdict.
    console.log("");
    console.log("Verdict against DESIGN.md targets (goal in brackets)");
    const line = (what: string, value: number | undefined, shown: (v: number) => string, target: number, goal: number, rel: ">=" | "<=" | "<") => {
      if (value === undefined || !Number.isFinite(value)) {
        console.log(`  MISS  ${what.padEnd(44)} not available`);
        return;
      }
      const meets = (t: number) => (rel === ">=" ? value >= t : rel === "<=" ? value <= t : value < t);
      console.log(`  ${meets(target) ? "PASS" : "MISS"}  ${what.padEnd(44)} ${shown(value).padStart(9)}  target ${rel} ${shown(target)}  [goal ${shown(goal)}: ${meets(goal) ? "met" : "not met"}]`);
    };
    const ratio = (k: Case["key"]) => (byKey(k).available && thr.get(k)!.rps.length ? median(thr.get(k)!.rps) / floorRps : undefined);
    const x = (v: number) => `${v.toFixed(2)}x`;
    const u = (v: number) => `${v.toFixed(0)} us`;
    const mib = (v: number) => `${v.toFixed(1)} MiB`;
    line("/v1/chat/completions throughput vs floor", ratio("v1"), x, 0.3, 0.5, ">=");
    line("/v1/chat/completions added latency p50", byKey("v1").available ? added.get("v1") : undefined, u, 200, 150, "<=");
    line("invokeModel throughput vs floor", ratio("invoke"), x, 0.15, 0.3, ">=");
    line("invokeModel added latency p50", byKey("invoke").available ? added.get("invoke") : undefined, u, 400, 300, "<=");
    line("Portcullis peak RSS (VmHWM)", memAfterLoad.hwm, mib, 180, 150, "<");
    console.log(`  (for scale: the floor adds ${us(added.get("floor") ?? NaN)} at p50 here; DESIGN.md measured about 56 us, Portkey's gateway about 620 us)`);

    const failed = cases.filter((c) => c.failure);
    if (failed.length > 0) {
      console.log("");
      for (const c of failed) console.log(`FAILED: ${c.name}: ${c.failure}`);
      return 1;
    }
    return 0;
  } finally {
    log("stopping the servers");
    await stopAll();
  }
}

const role = process.argv[2];
if (role === "--mock") await mockChild();
else if (role === "--proxy") await proxyChild(process.argv[3]);
else {
  let code: number;
  try {
    code = await main();
  } catch (err) {
    console.error(`[bench:gateway] ${(err as Error).stack ?? err}`);
    code = 1;
  }
  process.exit(code);
}
