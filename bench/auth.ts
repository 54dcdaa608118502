// What authentication costs: requests per second of an authenticated `{ viewer { principalId } }`
// (with a service API key, a person's API key and an OIDC JWT, caches warm) next to an
// unauthenticated GET /healthz, against a real server on loopback in a child
// process (so that the load generator does not share its event loop), in one run.
// Bounded: each case runs BENCH_ROUNDS times, interleaved with the others so that load from
// elsewhere on the machine hits every case alike, each round stopping after BENCH_SECONDS or
// BENCH_MAX_REQUESTS, whichever comes first; the median round is reported.
//   npm run bench:auth     (BENCH_ROUNDS=3 BENCH_SECONDS=1 BENCH_CONCURRENCY=16 BENCH_MAX_REQUESTS=50000)
import "reflect-metadata";
import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pool } from "undici";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 1);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const MAX_REQUESTS = Number(process.env.BENCH_MAX_REQUESTS ?? 50_000);
const WARMUP_REQUESTS = 500;

interface Ready {
  url: string;
  /** A bare node:http server in the same process answering like /healthz: the HTTP layer's floor. */
  bareUrl: string;
  ownerKey: string;
  personKey: string;
  /** A JWT from a local OIDC issuer on loopback that the organization trusts. */
  jwt: string;
  /** The authenticator alone, in the server process: microseconds per call, cache warm. */
  authenticateUs: number;
}

async function serve(): Promise<void> {
  const { loadConfig } = await import("../src/config.js");
  const { buildServer } = await import("../src/server.js");
  const { createLogger } = await import("../src/logger.js");
  const { issueApiKey } = await import("../src/modules/api-keys/api-key.issue.js");
  const { newId } = await import("../src/ids.js");
  const { roleBindings, roles, users } = await import("../src/db/schema.js");
  const { and, eq } = await import("drizzle-orm");
  const dataDir = mkdtempSync(join(tmpdir(), "portcullis-bench-"));
  const config = loadConfig({
    PORTCULLIS_DATA_DIR: dataDir,
    PORTCULLIS_MASTER_KEYS: "1:" + Buffer.alloc(32, 9).toString("base64"),
    PORTCULLIS_LOG_LEVEL: "silent",
    // The issuer below is on loopback.
    PORTCULLIS_ALLOW_PRIVATE_NETWORK: "true",
  });
  const server = await buildServer(config, { logger: createLogger("silent") });
  const { url } = await server.listen(0, "127.0.0.1");
  const organizationId = server.bootstrap!.organizationId;
  // A key owned by a person: authentication also checks the person and intersects access.
  const db = server.database.db;
  const at = new Date();
  const userId = newId("User");
  db.insert(users).values({ id: userId, organizationId, email: "bench@example.com", status: "ACTIVE", createdAt: at }).run();
  const adminRole = db.select({ id: roles.id }).from(roles).where(and(eq(roles.organizationId, organizationId), eq(roles.name, "admin"))).get()!.id;
  const issued = issueApiKey(db, server.services.keys.pepper(), { organizationId, workspaceId: null, name: "bench", ownerUserId: userId, createdBy: null, expiresAt: null }, at);
  for (const principalId of [userId, issued.apiKeyId]) {
    db.insert(roleBindings)
      .values({ id: newId("RoleBinding"), organizationId, roleId: adminRole, principalKind: principalId === userId ? "USER" : "API_KEY", principalId, workspaceId: null, createdAt: at })
      .run();
  }
  const { ApiKeyAuthenticator } = await import("../src/auth/api-key-authenticator.js");
  const { systemClock } = await import("../src/clock.js");
  const authenticator = new ApiKeyAuthenticator(db, server.services.keys, systemClock, server.services.changeMark);
  for (let i = 0; i < 1000; i++) authenticator.authenticate(issued.token);
  const calls = 20_000;
  const started = performance.now();
  for (let i = 0; i < calls; i++) if (!authenticator.authenticate(issued.token).ok) throw new Error("the bench key does not authenticate");
  const authenticateUs = ((performance.now() - started) * 1000) / calls;
  const { startOidcIssuer } = await import("../test/harness/oidc-issuer.js");
  const issuer = await startOidcIssuer({ now: () => new Date(), alg: process.env.BENCH_JWT_ALG ?? "ES256" });
  const configured = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${server.bootstrap!.ownerApiKey}` },
    body: JSON.stringify({
      query: "mutation($input: ConfigureSsoInput!) { configureSso(input: $input) { issuer } }",
      variables: { input: { issuer: issuer.issuer, audience: issuer.audience, jitProvisioning: true, roleMappings: [] } },
    }),
  });
  if (!(await configured.text()).includes(issuer.issuer)) throw new Error("configureSso failed");
  const jwt = await issuer.sign({ sub: "bench-user", exp: Math.floor(Date.now() / 1000) + 3600 });
  const { createServer } = await import("node:http");
  const bare = createServer((_req, res) => {
    res.setHeader("content-type", "application/json; charset=utf-8");
    res.end('{"status":"ok"}');
  });
  const bareUrl = await new Promise<string>((resolve) => bare.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(bare.address() as { port: number }).port}`)));
  process.send!({ url, bareUrl, ownerKey: server.bootstrap!.ownerApiKey, personKey: issued.token, jwt, authenticateUs } satisfies Ready);
  process.on("disconnect", async () => {
    await server.close();
    await issuer.stop();
    bare.close();
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
}

interface Case {
  name: string;
  /** Which server: Portcullis unless said otherwise. */
  bare?: boolean;
  method: "GET" | "POST";
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** What a correct answer contains, checked on every response. */
  expect: string;
}

async function once(pools: Pools, c: Case): Promise<void> {
  const pool = c.bare ? pools.bare : pools.portcullis;
  const res = await pool.request({ method: c.method, path: c.path, headers: c.headers, body: c.body });
  const text = await res.body.text();
  if (res.statusCode !== 200 || !text.includes(c.expect)) throw new Error(`${c.name}: unexpected answer ${res.statusCode} ${text.slice(0, 200)}`);
}

interface Pools {
  portcullis: Pool;
  bare: Pool;
}

async function measure(pool: Pools, c: Case): Promise<{ rps: number; requests: number; seconds: number }> {
  let sent = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  const worker = async () => {
    while (sent < MAX_REQUESTS && performance.now() < deadline) {
      sent++;
      await once(pool, c);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { rps: sent / seconds, requests: sent, seconds };
}

async function main(): Promise<void> {
  const child = fork(process.argv[1], ["--serve"], { execArgv: process.execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.once("message", (m) => resolve(m as Ready));
    child.once("exit", (code) => reject(new Error(`the server exited early (${code})`)));
  });
  const pool: Pools = {
    portcullis: new Pool(ready.url, { connections: CONCURRENCY, pipelining: 1 }),
    bare: new Pool(ready.bareUrl, { connections: CONCURRENCY, pipelining: 1 }),
  };
  const viewer = JSON.stringify({ query: "{ viewer { principalId } }" });
  const graphql = (token: string): Case["headers"] => ({ "content-type": "application/json", authorization: `Bearer ${token}` });
  const cases: Case[] = [
    { name: "GET /healthz (no authentication)", method: "GET", path: "/healthz", expect: "ok" },
    { name: "bare node:http, same answer (baseline)", bare: true, method: "GET", path: "/healthz", expect: "ok" },
    { name: "viewer with a service API key", method: "POST", path: "/graphql", headers: graphql(ready.ownerKey), body: viewer, expect: "principalId" },
    { name: "viewer with a person's API key", method: "POST", path: "/graphql", headers: graphql(ready.personKey), body: viewer, expect: "principalId" },
    { name: "viewer with an OIDC JWT", method: "POST", path: "/graphql", headers: graphql(ready.jwt), body: viewer, expect: "principalId" },
  ];
  console.log(
    `portcullis auth bench: ${CONCURRENCY} concurrent requests on loopback, ${ROUNDS} interleaved rounds of up to ${SECONDS}s or ${MAX_REQUESTS} requests per case, Node ${process.version}`,
  );
  const rounds = new Map<string, { rps: number; requests: number }[]>(cases.map((c) => [c.name, []]));
  try {
    for (const c of cases) for (let i = 0; i < WARMUP_REQUESTS; i++) await once(pool, c);
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of cases) rounds.get(c.name)!.push(await measure(pool, c));
    }
    const results = cases.map((c) => {
      const sorted = rounds.get(c.name)!.sort((a, b) => a.rps - b.rps);
      const median = sorted[Math.floor(sorted.length / 2)];
      console.log(`${c.name.padEnd(40)} ${median.rps.toFixed(0).padStart(7)} req/s median  (rounds: ${sorted.map((r) => r.rps.toFixed(0)).join(", ")})`);
      return { name: c.name, rps: median.rps };
    });
    const [health, bareResult, ...authenticated] = results;
    console.log(`ratio healthz through the Portcullis pipeline / bare node:http: ${(health.rps / bareResult.rps).toFixed(3)}`);
    for (const r of authenticated) console.log(`ratio ${r.name} / healthz: ${(r.rps / health.rps).toFixed(3)}`);
    console.log(`ApiKeyAuthenticator.authenticate alone (person's key, cache warm): ${ready.authenticateUs.toFixed(1)} us per call`);
  } finally {
    await pool.portcullis.close();
    await pool.bare.close();
    child.disconnect();
  }
}

if (process.argv.includes("--serve")) await serve();
else await main();
