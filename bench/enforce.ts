// Admissions per second: gather + admit + settle through three applied policies (each with a
// requests and tokens per minute limit and a budget, attached to the API key, the route and the
// workspace), next to the same round trip with no policy applied, in the same run. Also what the
// policy cache saves: a warm gather against the same query run uncached.
// Bounded: BENCH_ROUNDS rounds, interleaved, each case stopping after BENCH_SECONDS or
// BENCH_MAX_CALLS, whichever comes first; the median round is reported.
//   npm run bench:enforce     (BENCH_ROUNDS=3 BENCH_SECONDS=1 BENCH_MAX_CALLS=200000)
import "reflect-metadata";
import { and, eq, sql } from "drizzle-orm";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemClock } from "../src/clock.js";
import { openDatabase } from "../src/db/client.js";
import { organizations, policies, policyAttachments, routes, workspaces } from "../src/db/schema.js";
import type { CallTargets } from "../src/gateway/enforcement.types.js";
import { PolicyEnforcer } from "../src/gateway/policy-enforcer.js";
import { newId } from "../src/ids.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 1);
const MAX_CALLS = Number(process.env.BENCH_MAX_CALLS ?? 200_000);
const ESTIMATE = { requests: 1, tokens: 500, costUsd: 0.001 };
const ACTUAL = { tokens: 420, costUsd: 0.00084 };

const dataDir = mkdtempSync(join(tmpdir(), "portcullis-bench-enforce-"));
const { db, sqlite } = openDatabase(dataDir);
try {
  const at = new Date();
  const organizationId = newId("Organization");
  const workspaceId = newId("Workspace");
  const routeId = newId("Route");
  const apiKeyId = newId("ApiKey");
  db.insert(organizations).values({ id: organizationId, name: "bench", createdAt: at }).run();
  db.insert(workspaces).values({ id: workspaceId, organizationId, name: "bench", slug: "bench", createdAt: at }).run();
  db.insert(routes).values({ id: routeId, organizationId, workspaceId, name: "bench", slug: "bench", strategy: "SINGLE", retryAttempts: null, retryOnStatusCodes: null, timeoutMs: null, createdAt: at, updatedAt: at }).run();
  // Limits far above what the run reaches: every call is admitted, as in steady traffic.
  for (const [kind, targetId] of [["ApiKey", apiKeyId], ["Route", routeId], ["Workspace", workspaceId]] as const) {
    const id = newId("Policy");
    db.insert(policies)
      .values({ id, organizationId, workspaceId, name: `bench ${kind}`, description: null, allowedModels: ["gpt-4o*"], deniedModels: ["gpt-4o-mini*"], requestsPerMinute: 1_000_000, tokensPerMinute: 1_000_000_000, budgetLimitUsd: 1_000_000_000, budgetPeriod: "MONTH", allowedIpRanges: null, createdAt: at, updatedAt: at })
      .run();
    db.insert(policyAttachments).values({ policyId: id, organizationId, targetKind: kind, targetId, createdAt: at }).run();
  }
  const limited: CallTargets = { organizationId, apiKeyId, userId: null, routeId, workspaceId };
  const free: CallTargets = { organizationId, apiKeyId: newId("ApiKey"), userId: null, routeId: null, workspaceId: null };
  const enforcer = new PolicyEnforcer(db, systemClock);
  if (enforcer.gather(limited).length !== 3) throw new Error("the bench policies are not applied");

  const uncached = db
    .select({ policy: policies })
    .from(policyAttachments)
    .innerJoin(policies, and(eq(policies.id, policyAttachments.policyId), eq(policies.organizationId, policyAttachments.organizationId)))
    .where(and(eq(policyAttachments.organizationId, sql.placeholder("organizationId")), eq(policyAttachments.targetId, sql.placeholder("targetId"))))
    .prepare();

  const cases: Record<string, () => void> = {
    "no policy: gather + admit + settle": () => {
      const applied = enforcer.gather(free);
      enforcer.settle(enforcer.admit(applied, ESTIMATE), ACTUAL);
    },
    "3 policies: gather + checks + admit + settle": () => {
      const applied = enforcer.gather(limited);
      enforcer.checkModel(applied, "gpt-4o-2024-08-06");
      enforcer.checkAddress(applied, "203.0.113.9");
      enforcer.settle(enforcer.admit(applied, ESTIMATE), ACTUAL);
    },
    "gather of 3 targets, cache warm": () => void enforcer.gather(limited),
    "gather of 3 targets, the queries uncached": () => {
      for (const targetId of [apiKeyId, routeId, workspaceId]) uncached.all({ organizationId, targetId });
    },
  };

  const rounds: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (const fn of Object.values(cases)) for (let i = 0; i < 2_000; i++) fn();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, fn] of Object.entries(cases)) {
      const deadline = performance.now() + SECONDS * 1000;
      const started = performance.now();
      let calls = 0;
      while (calls < MAX_CALLS && (calls % 256 !== 0 || performance.now() < deadline)) {
        fn();
        calls++;
      }
      rounds[name].push(calls / ((performance.now() - started) / 1000));
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rate = Object.fromEntries(Object.entries(rounds).map(([k, xs]) => [k, median(xs)]));
  for (const [name, perSecond] of Object.entries(rate)) {
    console.log(`${name.padEnd(46)} ${Math.round(perSecond).toString().padStart(9)} /s  ${(1e6 / perSecond).toFixed(1).padStart(7)} us`);
  }
  const [empty, full, warm, cold] = Object.values(rate);
  console.log(`ratio: 3 policies cost ${(empty / full).toFixed(1)}x the empty admission (${(1e6 / full - 1e6 / empty).toFixed(1)} us more per call)`);
  console.log(`ratio: the policy cache makes gather ${(warm / cold).toFixed(1)}x faster`);
  if (enforcer.openAdmissions !== 0) throw new Error("admissions left open");
} finally {
  sqlite.close();
  rmSync(dataDir, { recursive: true, force: true });
}
