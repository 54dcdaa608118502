// The audit log at a million events: auditEvents (first page, each filter, a page deep in the
// cursor, a workspace-scoped reader) and verifyAuditLog over a fixed range of sequences, timed
// over real HTTP GraphQL in an organization of ten thousand events and in one of a million, side
// by side; they must stay flat as the chain grows. Then a full verification of the million-event
// chain while a steady stream of GET /healthz asks, one at a time, whether the server still
// answers: its slowest answer bounds the longest stall of the server's event loop, seen from outside.
//   npm run bench:audit
//   BENCH_AUDIT_EVENTS (1000000) and BENCH_AUDIT_SMALL (10000) events in the two organizations;
//   BENCH_AUDIT_RUNS (31) timed requests per case and organization, the median is shown;
//   BENCH_AUDIT_RANGE (10000) events per verifyAuditLog range.
// The events are written straight into the database (real chain hashes, audit-chain.ts), while the
// server is stopped; the organizations, workspaces and keys are made through the CLI and GraphQL.
// Everything lives in a temporary data directory, removed at the end. Exits 0 whatever the
// numbers, non-zero if an answer is wrong.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import canonicalize from "canonicalize";
import { Pool } from "undici";
import { openDatabase } from "../src/db/client.js";
import { newId } from "../src/ids.js";
import { auditEventHashOfCanonical, type AuditEventView } from "../src/modules/audit/audit-chain.js";
import { auditDetails } from "../src/modules/audit/audit-details.js";
import { encodeCursor } from "../src/modules/common/pagination.js";
import { eventStream, fakeIds, type EventPools } from "./audit-events.js";
import { freePort, startFlags, waitUntilReady } from "./server-process.js";

const BIG = Math.max(1000, Number(process.env.BENCH_AUDIT_EVENTS ?? 1_000_000));
const SMALL = Math.max(1000, Number(process.env.BENCH_AUDIT_SMALL ?? 10_000));
const RUNS = Math.max(3, Number(process.env.BENCH_AUDIT_RUNS ?? 31));
const RANGE = Math.min(SMALL, Math.max(100, Number(process.env.BENCH_AUDIT_RANGE ?? 10_000)));
const WARMUP = 5;
/** Flat: the time at BIG events is at most this many times the time at SMALL. */
const RATIO_BAR = 2;
/** The longest stall allowed while the whole chain is verified. */
const STALL_TARGET_MS = 50;
const FILL_TRANSACTION = 20_000;
const OVERALL_LIMIT_MS = 60 * 60_000;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const MASTER_KEYS = "1:" + Buffer.alloc(32, 11).toString("base64");
const log = (line: string) => console.log(`[bench:audit] ${line}`);
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

// ---------------------------------------------------------------- the server and the CLI

function environment(dataDir: string, port?: number): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    NODE_ENV: "production",
    HOST: "127.0.0.1",
    ...(port !== undefined && { PORT: String(port) }),
    PORTCULLIS_DATA_DIR: dataDir,
    PORTCULLIS_MASTER_KEYS: MASTER_KEYS,
    PORTCULLIS_LOG_LEVEL: "warn",
  };
}

function createOrganization(dataDir: string, name: string): { organizationId: string; ownerApiKey: string } {
  const out = execFileSync(process.execPath, [join(ROOT, "bin/portcullis.js"), "create-organization", "--name", name, "--json"], { cwd: ROOT, env: environment(dataDir), encoding: "utf8" });
  return JSON.parse(out) as { organizationId: string; ownerApiKey: string };
}

interface Server {
  child: ChildProcess;
  url: string;
  readyMs: number;
}

/** The compiled server as it runs for real; ready once /readyz answers 200. */
async function startServer(dataDir: string): Promise<Server> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [...startFlags(), join(ROOT, "dist/main.js")], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"], env: environment(dataDir, port) });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(child, url, { timeoutMs: 300_000, pollMs: 50, requestTimeoutMs: 5000 });
  } catch (err) {
    await stopServer(child);
    throw err;
  }
  return { child, url, readyMs: performance.now() - started };
}

function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(kill);
      done();
    });
    child.kill("SIGTERM");
  });
}

async function graphql(pool: Pool, key: string, query: string, variables: Record<string, unknown> = {}): Promise<any> {
  const res = await pool.request({
    method: "POST",
    path: "/graphql",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
    headersTimeout: 600_000,
    bodyTimeout: 600_000,
  });
  const text = await res.body.text();
  const parsed = JSON.parse(text) as { data?: any; errors?: unknown[] };
  if (res.statusCode !== 200 || parsed.errors) throw new Error(`GraphQL answered wrongly (${res.statusCode}): ${text.slice(0, 500)}`);
  return parsed.data;
}

// ---------------------------------------------------------------- the organizations

interface Org {
  label: string;
  size: number;
  organizationId: string;
  ownerKey: string;
  /** An API key holding AUDIT_READ in one workspace only (the manager role there). */
  scopedKey: string;
  pools: EventPools;
  /** Sequence and occurredAt of a few events, for cursors and time ranges. */
  marks: Map<number, string>;
  last: number;
}

/** Four workspaces and a workspace-scoped auditor key, made over GraphQL like a frontend would. */
async function setUp(pool: Pool, org: Omit<Org, "scopedKey" | "pools" | "marks" | "last">): Promise<Org> {
  const workspaceIds: string[] = [];
  for (let i = 0; i < 4; i++) workspaceIds.push((await graphql(pool, org.ownerKey, "mutation($n: String!) { createWorkspace(input: {name: $n}) { id } }", { n: `Team ${i}` })).createWorkspace.id);
  const roles = (await graphql(pool, org.ownerKey, "{ roles { id name } }")).roles as { id: string; name: string }[];
  const manager = roles.find((r) => r.name === "manager")!.id;
  const created = await graphql(pool, org.ownerKey, "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { apiKey { id } secret } }", { i: { name: "Team 1 auditor", workspaceId: workspaceIds[1], roleIds: [manager] } });
  return {
    ...org,
    scopedKey: created.createApiKey.secret,
    pools: { workspaceIds, serviceKeyIds: fakeIds("ak", 20), userIds: fakeIds("usr", 5), virtualKeyIds: fakeIds("vk", 30) },
    marks: new Map(),
    last: 0,
  };
}

/** Appends count events to the organization's chain, in large transactions, one millisecond apart. */
function fill(sqlite: ReturnType<typeof openDatabase>["sqlite"], org: Org, count: number): void {
  const head = sqlite.prepare("SELECT sequence, hash, occurred_at FROM audit_events WHERE organization_id = ? ORDER BY sequence DESC LIMIT 1").get(org.organizationId) as { sequence: number; hash: string; occurred_at: number };
  const insert = sqlite.prepare(
    `INSERT INTO audit_events (id, organization_id, sequence, occurred_at, actor_kind, actor_id, workspace_id, action, target_kind, target_id, outcome, ip, user_agent, request_id, details, previous_hash, hash)
     VALUES (@id, @organizationId, @sequence, @occurredAt, @actorKind, @actorId, @workspaceId, @action, @targetKind, @targetId, @outcome, @ip, @userAgent, @requestId, @details, @previousHash, @hash)`,
  );
  const next = eventStream(org.organizationId, org.pools, 8);
  let sequence = head.sequence;
  let previousHash = head.hash;
  let time = head.occurred_at;
  const started = performance.now();
  const batch = sqlite.transaction((n: number) => {
    for (let i = 0; i < n; i++) {
      const entry = next();
      const details = auditDetails(entry.action, entry.outcome, entry.details);
      const canonicalDetails = details ? (canonicalize(details) ?? null) : null;
      sequence++;
      time++;
      const view: Omit<AuditEventView, "details"> = {
        id: newId("AuditEvent"),
        sequence,
        occurredAt: new Date(time).toISOString(),
        actorKind: entry.actorKind,
        actorId: entry.actorId,
        workspaceId: entry.workspaceId ?? null,
        action: entry.action,
        targetKind: entry.targetKind ?? null,
        targetId: entry.targetId ?? null,
        outcome: entry.outcome,
        ip: entry.ip ?? null,
        userAgent: entry.userAgent ?? null,
        requestId: entry.requestId ?? null,
        previousHash,
      };
      const hash = auditEventHashOfCanonical(view, canonicalDetails);
      insert.run({ ...view, organizationId: org.organizationId, occurredAt: time, details: canonicalDetails, hash });
      previousHash = hash;
    }
  });
  // The rate of the last stretch: appending slows down as the indexes outgrow SQLite's page cache.
  let stretch = { at: started, done: 0 };
  for (let done = 0; done < count; ) {
    const n = Math.min(FILL_TRANSACTION, count - done);
    batch(n);
    done += n;
    if (done % 100_000 === 0 || done === count) {
      const now = performance.now();
      log(`${org.label}: ${fmt(done)} / ${fmt(count)} events written, the last ${fmt(done - stretch.done)} at ${fmt((done - stretch.done) / ((now - stretch.at) / 1000))} events/s`);
      stretch = { at: now, done };
    }
  }
  org.last = sequence;
  const at = sqlite.prepare("SELECT occurred_at FROM audit_events WHERE organization_id = ? AND sequence = ?").pluck();
  for (const s of [Math.floor(sequence / 2), Math.floor(sequence / 2) + 1000]) org.marks.set(s, new Date(at.get(org.organizationId, s) as number).toISOString());
}

// ---------------------------------------------------------------- measuring

const FIELDS = "id sequence occurredAt actorKind actorId workspaceId action targetKind targetId outcome ip userAgent requestId details previousHash hash";
const LIST = `query($f: AuditFilter, $a: String) { auditEvents(filter: $f, after: $a) { nodes { ${FIELDS} } pageInfo { hasNextPage endCursor } } }`;

interface Case {
  name: string;
  /** The request for one organization, and how many events its page must hold at least. */
  request: (org: Org) => { key: string; query: string; variables: Record<string, unknown>; check: (data: any) => string | undefined };
}

const page = (min: number) => (data: any) => (data.auditEvents.nodes.length >= min ? undefined : `${data.auditEvents.nodes.length} events on the page, expected at least ${min}`);
const list = (name: string, filter: (org: Org) => Record<string, unknown> | null, opts: { after?: (org: Org) => string; scoped?: boolean; min?: number } = {}): Case => ({
  name,
  request: (org) => ({ key: opts.scoped ? org.scopedKey : org.ownerKey, query: LIST, variables: { f: filter(org), a: opts.after?.(org) ?? null }, check: page(opts.min ?? 20) }),
});
const mark = (org: Org, fraction: number, plus = 0) => org.marks.get(Math.floor(org.last * fraction) + plus)!;

const CASES: Case[] = [
  list("first page", () => null),
  list("workspaceId", (o) => ({ workspaceId: o.pools.workspaceIds[2] })),
  list("actorId", (o) => ({ actorId: o.pools.serviceKeyIds[3] })),
  list("action (1.3% of events)", () => ({ action: "createPolicy" })),
  list("action (no event)", () => ({ action: "deleteOrganization" }), { min: 0 }),
  list("targetId", (o) => ({ targetId: o.pools.virtualKeyIds[5] })),
  list("outcome DENIED", () => ({ outcome: "DENIED" })),
  list("from (half way)", (o) => ({ from: mark(o, 0.5) })),
  list("to (half way)", (o) => ({ to: mark(o, 0.5) })),
  list("from and to (1,000 events)", (o) => ({ from: mark(o, 0.5), to: mark(o, 0.5, 1000) })),
  list("deep cursor (90%)", () => null, { after: (o) => encodeCursor([Math.floor(o.last * 0.9)]) }),
  list("deep cursor (90%) and action", () => ({ action: "createPolicy" }), { after: (o) => encodeCursor([Math.floor(o.last * 0.9)]), min: 1 }),
  list("workspace-scoped reader, first page", () => null, { scoped: true }),
  list("workspace-scoped reader, action", () => ({ action: "createPolicy" }), { scoped: true, min: 1 }),
  {
    name: `verifyAuditLog over ${fmt(RANGE)} events`,
    request: (org) => {
      const from = org.size === SMALL ? 1 : Math.floor(org.last / 2);
      return {
        key: org.ownerKey,
        query: "query($a: SafeInt, $b: SafeInt) { verifyAuditLog(fromSequence: $a, toSequence: $b) { valid checkedEvents } }",
        variables: { a: from, b: from + RANGE - 1 },
        check: (d) => (d.verifyAuditLog.valid && d.verifyAuditLog.checkedEvents === RANGE ? undefined : `verification answered ${JSON.stringify(d.verifyAuditLog)}`),
      };
    },
  },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Milliseconds of one request, checked. */
async function timed(pool: Pool, org: Org, c: Case): Promise<number> {
  const r = c.request(org);
  const started = performance.now();
  const data = await graphql(pool, r.key, r.query, r.variables);
  const ms = performance.now() - started;
  const wrong = r.check(data);
  if (wrong) throw new Error(`${c.name} in ${org.label}: ${wrong}`);
  return ms;
}

/** /metrics as text, and how long it took to answer. */
async function scrape(pool: Pool): Promise<{ text: string; ms: number }> {
  const started = performance.now();
  const res = await pool.request({ method: "GET", path: "/metrics", headersTimeout: 60_000, bodyTimeout: 60_000 });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`/metrics answered ${res.statusCode}`);
  return { text, ms: performance.now() - started };
}

/** A sample of prom-client's exposition, by metric name and label text. */
function sample(text: string, name: string, labels = ""): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ""} `));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : NaN;
}

/** What the server says of itself between two scrapes: its event loop's longest delay (prom-client's monitorEventLoopDelay, reset by each scrape) and its garbage collections. */
interface ServerView {
  lagMaxMs: number;
  gc: { kind: string; count: number; ms: number }[];
  scrapeMs: number;
}

function serverView(before: string, after: string, scrapeMs: number): ServerView {
  const gc = ["minor", "major", "incremental"].map((kind) => {
    const at = (text: string, suffix: string) => sample(text, `portcullis_nodejs_gc_duration_seconds_${suffix}`, `kind="${kind}"`) || 0;
    return { kind, count: at(after, "count") - at(before, "count"), ms: (at(after, "sum") - at(before, "sum")) * 1000 };
  });
  return { lagMaxMs: sample(after, "portcullis_nodejs_eventloop_lag_max_seconds") * 1000, gc, scrapeMs };
}

/** Verifies the whole chain while GET /healthz is sent one request at a time, on its own connection. */
/**
 * Milliseconds the server's main thread has spent runnable but waiting for a CPU (Linux
 * schedstat): time the machine gave to other processes, during which no server could answer.
 */
function runQueueWaitMs(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8").split(" ")[1]) / 1e6;
  } catch {
    return NaN;
  }
}

interface Probe {
  ms: number;
  /** Of which the server's main thread waited for a CPU. */
  waitedMs: number;
}

async function verifyUnderProbes(url: string, pid: number, org: Org): Promise<{ verifyMs: number; checked: number; valid: boolean; probes: Probe[]; server: ServerView }> {
  const probePool = new Pool(url, { connections: 1 });
  const verifyPool = new Pool(url, { connections: 1 });
  const before = await scrape(verifyPool);
  const probes: Probe[] = [];
  let done = false;
  const probing = (async () => {
    while (!done) {
      const waited = runQueueWaitMs(pid);
      const started = performance.now();
      const res = await probePool.request({ method: "GET", path: "/healthz", headersTimeout: 60_000, bodyTimeout: 60_000 });
      await res.body.text();
      if (res.statusCode !== 200) throw new Error(`/healthz answered ${res.statusCode}`);
      probes.push({ ms: performance.now() - started, waitedMs: runQueueWaitMs(pid) - waited });
    }
  })();
  const started = performance.now();
  let progress: NodeJS.Timeout | undefined;
  try {
    progress = setInterval(() => log(`verifying the ${org.label} chain: ${((performance.now() - started) / 1000).toFixed(0)} s, ${fmt(probes.length)} /healthz answered meanwhile, slowest ${Math.max(0, ...probes.map((p) => p.ms)).toFixed(1)} ms`), 10_000);
    const result = (await graphql(verifyPool, org.ownerKey, "{ verifyAuditLog { valid checkedEvents lastSequence } }")).verifyAuditLog as { valid: boolean; checkedEvents: number };
    const verifyMs = performance.now() - started;
    done = true;
    await probing;
    const after = await scrape(verifyPool);
    return { verifyMs, checked: result.checkedEvents, valid: result.valid, probes, server: serverView(before.text, after.text, after.ms) };
  } finally {
    done = true;
    clearInterval(progress);
    await probing.catch(() => {});
    await Promise.all([probePool.close(), verifyPool.close()]);
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  log(`Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model.trim()}); ${fmt(SMALL)} and ${fmt(BIG)} events; ${RUNS} timed requests per case and organization`);
  const dataDir = mkdtempSync(join(tmpdir(), "portcullis-bench-audit-"));
  let server: Server | undefined;
  const pools: Pool[] = [];
  process.once("exit", () => {
    if (server && server.child.exitCode === null) server.child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });
  const watchdog = setTimeout(() => {
    console.error(`[bench:audit] stopped: the run took longer than ${OVERALL_LIMIT_MS / 60_000} min`);
    process.exit(2);
  }, OVERALL_LIMIT_MS);
  watchdog.unref();
  try {
    log(`creating two organizations with the CLI in ${dataDir}`);
    const small = createOrganization(dataDir, `Audit bench ${fmt(SMALL)}`);
    const big = createOrganization(dataDir, `Audit bench ${fmt(BIG)}`);
    server = await startServer(dataDir);
    let pool = new Pool(server.url, { connections: 1 });
    log("setting up over GraphQL: four workspaces per organization and a workspace-scoped auditor key");
    const orgs = [
      await setUp(pool, { label: `${fmt(SMALL)}-event organization`, size: SMALL, organizationId: small.organizationId, ownerKey: small.ownerApiKey }),
      await setUp(pool, { label: `${fmt(BIG)}-event organization`, size: BIG, organizationId: big.organizationId, ownerKey: big.ownerApiKey }),
    ];
    await pool.close();
    await stopServer(server.child);
    server = undefined;

    log("writing the events straight into the database, the server stopped");
    const fillStarted = performance.now();
    const opened = openDatabase(dataDir);
    for (const org of orgs) fill(opened.sqlite, org, org.size);
    opened.sqlite.pragma("wal_checkpoint(TRUNCATE)");
    opened.sqlite.close();
    const fillSeconds = (performance.now() - fillStarted) / 1000;
    const dbBytes = statSync(join(dataDir, "portcullis.db")).size;
    log(`${fmt(SMALL + BIG)} events in ${fillSeconds.toFixed(1)} s (${fmt((SMALL + BIG) / fillSeconds)} events/s); database ${(dbBytes / 2 ** 20).toFixed(0)} MiB`);

    server = await startServer(dataDir);
    log(`Portcullis ready in ${(server.readyMs / 1000).toFixed(1)} s on the filled database`);
    pool = new Pool(server.url, { connections: 1 });
    pools.push(pool);

    const times = new Map<string, [number[], number[]]>(CASES.map((c) => [c.name, [[], []]]));
    for (const c of CASES) {
      log(`timing ${c.name}: ${WARMUP} warm-up and ${RUNS} timed requests per organization, alternating`);
      for (let i = 0; i < WARMUP + RUNS; i++) {
        for (const [k, org] of orgs.entries()) {
          const ms = await timed(pool, org, c);
          if (i >= WARMUP) times.get(c.name)![k].push(ms);
        }
      }
    }

    log(`verifying the whole ${orgs[1].label} chain while GET /healthz is sent one request at a time`);
    const loadBefore = loadavg()[0];
    const full = await verifyUnderProbes(server.url, server.child.pid!, orgs[1]);
    const loadAfter = loadavg()[0];

    console.log("");
    console.log(`Over HTTP GraphQL, median of ${RUNS} requests in ms (a page is 20 events with every field; flat: ${fmt(BIG)} within ${RATIO_BAR}x of ${fmt(SMALL)})`);
    console.log(`  ${"".padEnd(44)}${fmt(SMALL).padStart(10)}${fmt(BIG).padStart(12)}${"ratio".padStart(8)}`);
    let missed = 0;
    for (const c of CASES) {
      const [a, b] = times.get(c.name)!.map(median);
      const ratio = b / a;
      const pass = ratio <= RATIO_BAR;
      if (!pass) missed++;
      console.log(`  ${pass ? "PASS" : "MISS"}  ${c.name.padEnd(38)}${a.toFixed(2).padStart(10)}${b.toFixed(2).padStart(12)}${(ratio.toFixed(2) + "x").padStart(8)}`);
    }
    console.log(`  ${CASES.length - missed} of ${CASES.length} cases flat`);
    console.log("");
    console.log(`Full verification of the ${orgs[1].label}: ${fmt(full.checked)} events in ${(full.verifyMs / 1000).toFixed(1)} s (${fmt(full.checked / (full.verifyMs / 1000))} events/s), valid: ${full.valid}`);
    const sorted = [...full.probes].sort((a, b) => a.ms - b.ms);
    const slowest = sorted.at(-1)!;
    const own = [...full.probes].sort((a, b) => a.ms - a.waitedMs - (b.ms - b.waitedMs)).at(-1)!;
    console.log(`  meanwhile ${fmt(sorted.length)} GET /healthz, one at a time: median ${sorted[Math.floor(sorted.length / 2)].ms.toFixed(1)} ms, p99 ${sorted[Math.floor(sorted.length * 0.99)].ms.toFixed(1)} ms, slowest ${slowest.ms.toFixed(1)} ms (the server's thread waited ${slowest.waitedMs.toFixed(1)} ms of it for a CPU)`);
    console.log(`  the server's own view: event loop delayed at most ${full.server.lagMaxMs.toFixed(1)} ms; garbage collections ${full.server.gc.map((g) => `${g.kind} ${g.count} (${g.ms.toFixed(0)} ms)`).join(", ")}; GET /metrics answered in ${full.server.scrapeMs.toFixed(1)} ms`);
    console.log(`  load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after, on ${cpus().length} CPUs`);
    const verdict = (ms: number) => (ms < STALL_TARGET_MS ? "PASS" : "MISS");
    console.log(`  ${verdict(slowest.ms)}  longest stall seen from outside (slowest /healthz)          ${slowest.ms.toFixed(1).padStart(7)} ms, target < ${STALL_TARGET_MS} ms`);
    console.log(`  ${verdict(own.ms - own.waitedMs)}  the same less the time the OS kept the server waiting ${(own.ms - own.waitedMs).toFixed(1).padStart(7)} ms, target < ${STALL_TARGET_MS} ms`);
    console.log(`Filling: ${fmt(SMALL + BIG)} events in ${fillSeconds.toFixed(1)} s; database ${(dbBytes / 2 ** 20).toFixed(0)} MiB; server ready ${(server.readyMs / 1000).toFixed(1)} s after start on it`);
    if (!full.valid || full.checked !== orgs[1].last) {
      console.error(`[bench:audit] the full verification answered wrongly: ${JSON.stringify(full)}, expected ${orgs[1].last} valid events`);
      return 1;
    }
    return 0;
  } finally {
    log("stopping the server and removing the data directory");
    await Promise.all(pools.map((p) => p.close().catch(() => {})));
    if (server) await stopServer(server.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

let code: number;
try {
  code = await main();
} catch (err) {
  console.error(`[bench:audit] ${(err as Error).stack ?? err}`);
  code = 1;
}
process.exit(code);
