// A second process, as far as SQLite can tell: its own thread and its own connection to the
// database file, admitting calls through its own enforcer as fast as it can once told to start.
import Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { parentPort, workerData } from "node:worker_threads";
import { systemClock } from "../../src/clock.js";
import * as schema from "../../src/db/schema.js";
import type { CallTargets } from "../../src/gateway/enforcement.types.js";
import { PolicyEnforcer } from "../../src/gateway/policy-enforcer.js";

const { path, targets, attempts } = workerData as { path: string; targets: CallTargets; attempts: number };
const sqlite = new Database(path);
sqlite.pragma("busy_timeout = 5000");
const enforcer = new PolicyEnforcer(drizzle(sqlite, { schema }), systemClock);
const applied = enforcer.gather(targets);

parentPort!.once("message", () => {
  let admitted = 0;
  let refused = 0;
  for (let i = 0; i < attempts; i++) {
    try {
      enforcer.admit(applied, { requests: 1, tokens: 1, costUsd: 1 });
      admitted++;
    } catch (err) {
      if ((err as { extensions?: { code?: string } }).extensions?.code !== "BUDGET_EXCEEDED") throw err;
      refused++;
    }
  }
  sqlite.close();
  parentPort!.postMessage({ admitted, refused, policies: applied.length });
});
parentPort!.postMessage("ready");
