// Requests per second of `{ viewer { principalId } }` authenticated with an OIDC JWT (JWKS cache
// warm), next to an unauthenticated GET /healthz and the same query with an API key, in one run
// against one server. The three alternate over BENCH_ROUNDS rounds (the median counts), so that
// a change in background load hits them alike; each measurement stops at BENCH_REQUESTS requests
// or BENCH_SECONDS seconds, whichever comes first. Usage: npm run bench:jwt
import "reflect-metadata";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { Pool } from "undici";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/logger.js";
import { buildServer } from "../src/server.js";
import { startOidcIssuer } from "../test/harness/oidc-issuer.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const MAX_REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const MAX_SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const ALG = process.env.BENCH_JWT_ALG ?? "ES256";

interface Measurement {
  name: string;
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

async function measure(pool: Pool, name: string, request: () => Parameters<Pool["request"]>[0], expectStatus: number): Promise<Measurement> {
  const latencies: number[] = [];
  const deadline = performance.now() + MAX_SECONDS * 1000;
  let issued = 0;
  const started = performance.now();
  const worker = async () => {
    while (issued < MAX_REQUESTS && performance.now() < deadline) {
      issued++;
      const t0 = performance.now();
      const res = await pool.request(request());
      await res.body.text();
      if (res.statusCode !== expectStatus) throw new Error(`${name}: status ${res.statusCode}`);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return { name, requests: latencies.length, seconds, rps: latencies.length / seconds, p50Ms: at(0.5), p99Ms: at(0.99) };
}

const dataDir = mkdtempSync(join(tmpdir(), "portcullis-bench-"));
const sink = new Writable({ write: (_chunk, _enc, done) => done() });
const config = loadConfig({
  PORTCULLIS_DATA_DIR: dataDir,
  PORTCULLIS_MASTER_KEYS: "1:" + Buffer.alloc(32, 7).toString("base64"),
  PORTCULLIS_ALLOW_PRIVATE_NETWORK: "true",
  PORTCULLIS_LOG_LEVEL: "info",
});
// The request log stays on (it is part of every request's cost) but goes nowhere.
const server = await buildServer(config, { logger: createLogger("info", sink) });
const { url } = await server.listen(0, "127.0.0.1");
const issuer = await startOidcIssuer({ now: () => new Date(), alg: ALG });
const ownerKey = server.bootstrap!.ownerApiKey;
const pool = new Pool(url, { connections: CONCURRENCY, pipelining: 1 });

try {
  const configure = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${ownerKey}` },
    body: JSON.stringify({
      query: "mutation($input: ConfigureSsoInput!) { configureSso(input: $input) { issuer } }",
      variables: { input: { issuer: issuer.issuer, audience: issuer.audience, jitProvisioning: true, roleMappings: [] } },
    }),
  });
  if (!(await configure.text()).includes(issuer.issuer)) throw new Error("configureSso failed");
  const jwt = await issuer.sign({ sub: "bench-user", exp: Math.floor(Date.now() / 1000) + 3600 });
  const body = JSON.stringify({ query: "{ viewer { principalId } }" });
  const graphql = (token: string) => () => ({
    method: "POST" as const,
    path: "/graphql",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body,
  });
  const healthz = () => ({ method: "GET" as const, path: "/healthz" });

  // Warm-up: JIT-provisions the user, fills the JWKS cache, JITs the code paths.
  for (const [name, req, status] of [["healthz", healthz, 200], ["jwt", graphql(jwt), 200], ["api key", graphql(ownerKey), 200]] as const) {
    for (let i = 0; i < 300; i++) {
      const res = await pool.request(req());
      const text = await res.body.text();
      if (res.statusCode !== status) throw new Error(`warm-up ${name}: ${res.statusCode} ${text}`);
    }
  }
  const jwksFetchesBefore = issuer.requests.jwks;

  const targets = [
    { name: "GET /healthz (no auth)", request: healthz },
    { name: "viewer with OIDC JWT", request: graphql(jwt) },
    { name: "viewer with API key", request: graphql(ownerKey) },
  ];
  const rounds: Measurement[][] = targets.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, target] of targets.entries()) rounds[i].push(await measure(pool, target.name, target.request, 200));
  }
  const median = (runs: Measurement[]) => [...runs].sort((a, b) => a.rps - b.rps)[Math.floor(runs.length / 2)];
  const results = rounds.map(median);
  const [health, jwtResult, apiKey] = results;
  console.log(`node ${process.version}, ${CONCURRENCY} concurrent connections, JWT ${ALG}, median of ${ROUNDS} alternating rounds of at most ${MAX_REQUESTS} requests or ${MAX_SECONDS} s each`);
  console.table(
    results.map((r, i) => ({
      name: r.name,
      "median rps": Math.round(r.rps),
      "rps per round": rounds[i].map((m) => Math.round(m.rps)).join(" "),
      p50Ms: +r.p50Ms.toFixed(2),
      p99Ms: +r.p99Ms.toFixed(2),
    })),
  );
  console.log(`JWT / healthz requests per second: ${(jwtResult.rps / health.rps).toFixed(3)}`);
  console.log(`JWT / API key requests per second: ${(jwtResult.rps / apiKey.rps).toFixed(3)}`);
  console.log(`JWKS fetches during the measurement: ${issuer.requests.jwks - jwksFetchesBefore}`);
} finally {
  await pool.close();
  await server.close();
  await issuer.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
