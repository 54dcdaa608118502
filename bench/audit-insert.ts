// What each index on audit_events costs the writers: every model call appends an event, so an
// index is paid for on the hot path. Appends events the way the server does (appendAuditEvent
// through the group commit: one transaction per mutation, or a group of concurrent calls in one),
// into a database migrated like production, once with every index and once without each
// secondary audit index in turn; the difference is what that index costs an insert.
//   npm run bench:audit-insert
//   BENCH_EVENTS (100000) events per run; BENCH_BATCHES ("1,10") events per transaction;
//   BENCH_ROUNDS (3) runs per configuration, the median is shown;
//   BENCH_PREFILL (0) events already in the organization: 0 starts every run on a fresh database;
//   otherwise one database is filled once and every run appends to it (it grows by each run's
//   events), its indexes dropped before the run and built again after it, untimed.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChangeMark } from "../src/db/change-mark.js";
import { openDatabase, type OpenedDatabase } from "../src/db/client.js";
import { GroupCommit } from "../src/db/group-commit.js";
import { appendAuditEvent, type AuditEntry } from "../src/modules/audit/audit.recorder.js";
import { eventStream, fakeIds } from "./audit-events.js";

const EVENTS = Math.max(1000, Number(process.env.BENCH_EVENTS ?? 100_000));
const BATCHES = (process.env.BENCH_BATCHES ?? "1,10").split(",").map((b) => Math.max(1, Number(b)));
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const PREFILL = Math.max(0, Number(process.env.BENCH_PREFILL ?? 0));
const ORG = "org_bench00000000000000000";

const log = (line: string) => console.log(`[bench:audit-insert] ${line}`);

interface Store {
  opened: OpenedDatabase;
  dir: string;
  next: () => AuditEntry;
}

function openStore(): Store {
  const dir = mkdtempSync(join(tmpdir(), "portcullis-bench-audit-insert-"));
  const opened = openDatabase(dir);
  opened.sqlite.prepare("INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)").run(ORG, "bench", Date.now());
  const next = eventStream(ORG, { workspaceIds: fakeIds("ws", 8), serviceKeyIds: fakeIds("ak", 20), userIds: fakeIds("usr", 5), virtualKeyIds: fakeIds("vk", 30) });
  return { opened, dir, next };
}

function closeStore(store: Store): void {
  store.opened.sqlite.close();
  rmSync(store.dir, { recursive: true, force: true });
}

/** The store every run appends to when BENCH_PREFILL is set, filled once. */
let shared: Store | undefined;

function prefilled(): Store {
  if (shared) return shared;
  shared = openStore();
  const { db } = shared.opened;
  const at = new Date();
  for (let done = 0; done < PREFILL; done += 20_000) {
    db.transaction((tx) => {
      for (let i = 0; i < Math.min(20_000, PREFILL - done); i++) appendAuditEvent(tx, shared!.next(), at);
    });
    if ((done + 20_000) % 200_000 === 0) log(`prefilled ${Math.min(done + 20_000, PREFILL)} / ${PREFILL} events`);
  }
  return shared;
}

/** Microseconds per event for one run: elapsed, and CPU of this process (user + system). */
async function run(drop: string[], batch: number): Promise<{ wall: number; cpu: number }> {
  const store = PREFILL > 0 ? prefilled() : openStore();
  const { db, sqlite } = store.opened;
  const dropped = drop.map((name) => sqlite.prepare("SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = ?").pluck().get(name) as string);
  try {
    for (const index of drop) sqlite.exec(`DROP INDEX ${index}`);
    const group = new GroupCommit(sqlite, new ChangeMark(sqlite));
    const at = new Date();
    const started = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    for (let done = 0; done < EVENTS; done += batch) {
      // Writes queued in one turn of the event loop commit together, as concurrent calls' do.
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < batch && done + i < EVENTS; i++) {
        const entry = store.next();
        writes.push(group.run(() => appendAuditEvent(db, entry, at)));
      }
      await Promise.all(writes);
    }
    const wall = Number(process.hrtime.bigint() - started) / 1000 / EVENTS;
    const cpu = process.cpuUsage(cpu0);
    return { wall, cpu: (cpu.user + cpu.system) / EVENTS };
  } finally {
    if (PREFILL > 0) for (const sql of dropped) sqlite.exec(sql);
    else closeStore(store);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main() {
  const probe = mkdtempSync(join(tmpdir(), "portcullis-bench-audit-insert-"));
  let indexes: string[];
  try {
    const { sqlite } = openDatabase(probe);
    indexes = (sqlite.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'audit_events' AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%' ORDER BY name").pluck().all() as string[]);
    sqlite.close();
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
  const configs = [
    { name: "every index", drop: [] as string[] },
    ...indexes.map((index) => ({ name: `without ${index}`, drop: [index] })),
    { name: "no secondary index", drop: indexes },
  ];
  log(`${EVENTS} events per run through appendAuditEvent and the group commit, ${BATCHES.join(" and ")} events per transaction, ${ROUNDS} rounds, median shown; ${PREFILL ? `${PREFILL} events in the organization before the first run` : "a fresh database per run"}`);
  log(`secondary indexes of audit_events: ${indexes.join(", ") || "none"} (besides the primary key's and audit_org_sequence, which the chain needs)`);
  log("warm-up run (not counted)");
  await run([], BATCHES[0]);
  const results = new Map<string, { wall: number[]; cpu: number[] }>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const config of configs) {
      for (const batch of BATCHES) {
        const r = await run(config.drop, batch);
        const key = `${config.name}|${batch}`;
        const seen = results.get(key) ?? { wall: [], cpu: [] };
        seen.wall.push(r.wall);
        seen.cpu.push(r.cpu);
        results.set(key, seen);
        log(`round ${round}/${ROUNDS}: ${config.name}, ${batch} per transaction: ${r.wall.toFixed(1)} us/event elapsed, ${r.cpu.toFixed(1)} us CPU`);
      }
    }
  }
  const at = (config: string, batch: number, what: "wall" | "cpu") => median(results.get(`${config}|${batch}`)![what]);
  console.log("");
  console.log(`us per appended event, median of ${ROUNDS} (elapsed includes waiting for the disk; CPU is this process's user + system)`);
  console.log(`"cost" is every index minus without that index (or without any)`);
  console.log(`  ${"configuration".padEnd(34)}${BATCHES.map((b) => `${b}/tx elapsed`.padStart(16) + "cost".padStart(7) + "CPU".padStart(8) + "cost".padStart(7)).join("")}`);
  for (const config of configs) {
    const cells = BATCHES.map((b) => {
      const cost = (what: "wall" | "cpu") => (config.drop.length ? (at("every index", b, what) - at(config.name, b, what)).toFixed(1) : "");
      return at(config.name, b, "wall").toFixed(1).padStart(16) + cost("wall").padStart(7) + at(config.name, b, "cpu").toFixed(1).padStart(8) + cost("cpu").padStart(7);
    });
    console.log(`  ${config.name.padEnd(34)}${cells.join("")}`);
  }
  const rate = (config: string) => BATCHES.map((b) => `${b}/tx ${Math.round(1e6 / at(config, b, "wall")).toLocaleString("en-US")} events/s`).join(", ");
  console.log(`  throughput with every index: ${rate("every index")}; with no secondary index: ${rate("no secondary index")}`);
  if (shared) closeStore(shared);
}

await main();
