// N calls racing for a budget that fits K admit exactly K: within one process, across two
// connections interleaved call by call, and across threads with their own connections
// hammering the same database file at once (what two server processes would do).
import Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { eq } from "drizzle-orm";
import { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as schema from "../../src/db/schema.js";
import { budgetCounters } from "../../src/db/schema.js";
import { PolicyEnforcer } from "../../src/gateway/policy-enforcer.js";
import { seed } from "../harness/factories.js";
import { startServer, type TestServer } from "../harness/server.js";
import { codeOf, enforcer, ONE_CALL, steps, targets } from "./helpers.js";

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
});
afterAll(() => t.stop());

function reserved(policyId: string): number {
  return t.server.database.db.select().from(budgetCounters).where(eq(budgetCounters.policyId, policyId)).all().reduce((sum, c) => sum + c.reservedUsd, 0);
}

/** A key under a budget of K calls of 1 USD, on the key and (a second policy) on its workspace. */
async function budgetOf(k: number) {
  const s = steps(t);
  const ws = await s.workspace();
  const key = seed(t).apiKey("member", ws);
  const onKey = await s.policy({ budget: { limitUsd: k, period: "TOTAL" } }, [key.id]);
  const onWs = await s.policy({ budget: { limitUsd: 1000, period: "TOTAL" } }, [ws]);
  return { call: targets(t, { apiKeyId: key.id, workspaceId: ws }), onKey, onWs };
}

describe("concurrent admission", () => {
  it("admits exactly K of N calls started together in one process", async () => {
    const { call, onKey, onWs } = await budgetOf(7);
    const e = enforcer(t);
    const applied = e.gather(call);
    const outcomes = await Promise.all(Array.from({ length: 50 }, async () => {
      await Promise.resolve();
      return codeOf(() => e.admit(applied, ONE_CALL));
    }));
    expect(outcomes.filter((o) => o === "none")).toHaveLength(7);
    expect(outcomes.filter((o) => o === "BUDGET_EXCEEDED")).toHaveLength(43);
    expect(reserved(onKey)).toBe(7);
    expect(reserved(onWs)).toBe(7);
  });

  it("admits exactly K across two connections to the same file, interleaved", async () => {
    const { call, onKey, onWs } = await budgetOf(9);
    const sqlite = new Database(t.server.database.path);
    sqlite.pragma("busy_timeout = 5000");
    try {
      const ours = enforcer(t);
      const theirs = new PolicyEnforcer(drizzle(sqlite, { schema }), t.clock);
      const a = ours.gather(call);
      const b = theirs.gather(call);
      const outcomes: string[] = [];
      for (let i = 0; i < 20; i++) {
        outcomes.push(codeOf(() => ours.admit(a, ONE_CALL)));
        outcomes.push(codeOf(() => theirs.admit(b, ONE_CALL)));
      }
      expect(outcomes.filter((o) => o === "none")).toHaveLength(9);
      expect(outcomes.slice(0, 9).every((o) => o === "none")).toBe(true);
      expect(reserved(onKey)).toBe(9);
      expect(reserved(onWs)).toBe(9);
    } finally {
      sqlite.close();
    }
  });

  it("admits exactly K across threads hammering the same file at once", async () => {
    const { call, onKey, onWs } = await budgetOf(25);
    const workers = Array.from({ length: 3 }, () =>
      // Worker threads do not pick up vitest's transform: tsx loads the TypeScript there.
      new Worker(`import("tsx/esm/api").then(({ tsImport }) => tsImport(${JSON.stringify(new URL("./admit-worker.ts", import.meta.url).href)}, import.meta.url))`, {
        eval: true,
        workerData: { path: t.server.database.path, targets: call, attempts: 200 },
      }),
    );
    try {
      await Promise.all(workers.map((w) => new Promise((resolve, reject) => w.once("message", resolve).once("error", reject))));
      const results = workers.map((w) => new Promise<{ admitted: number; refused: number; policies: number }>((resolve, reject) => w.once("message", resolve).once("error", reject)));
      for (const w of workers) w.postMessage("go");
      const done = await Promise.all(results);
      expect(done.every((d) => d.policies === 2)).toBe(true);
      expect(done.reduce((n, d) => n + d.admitted, 0)).toBe(25);
      expect(done.reduce((n, d) => n + d.refused, 0)).toBe(575);
      expect(reserved(onKey)).toBe(25);
      expect(reserved(onWs)).toBe(25);
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
  });
});
