// How long retention takes over a large expired start, and the longest the event loop was held
// meanwhile (every batch is its own transaction, with a yield in between). One organization:
// BENCH_EVENTS audit events and BENCH_EVENTS / 2 usage records with stored texts, all expired.
//   npx tsx bench/retention.ts     (BENCH_EVENTS=100000)
import "reflect-metadata";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { ManualClock } from "../src/clock.js";
import { loadConfig } from "../src/config.js";
import { newId } from "../src/ids.js";
import { createLogger } from "../src/logger.js";
import { appendAuditEvent } from "../src/modules/audit/audit.recorder.js";
import { buildServer } from "../src/server.js";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const dataDir = mkdtempSync(join(tmpdir(), "portcullis-bench-retention-"));
const clock = new ManualClock(new Date("2026-01-01T00:00:00.000Z"));
const config = loadConfig({ PORTCULLIS_DATA_DIR: dataDir, PORTCULLIS_MASTER_KEYS: "1:" + Buffer.alloc(32, 5).toString("base64") });
const server = await buildServer(config, { clock, logger: createLogger("silent") });
const organizationId = server.services.organizations.list()[0].id;
const { db, sqlite } = server.database;
const usage = sqlite.prepare(
  `INSERT INTO usage_records (id, organization_id, request_id, provider, model, success, prompt_tokens, completion_tokens, cost_usd, latency_ms, created_at)
   VALUES (?, ?, ?, 'OPENAI', 'gpt-4o', 1, 12, 5, 0, 3, ?)`,
);
const text = sqlite.prepare("INSERT INTO usage_texts (usage_record_id, organization_id, prompt_text, completion_text, created_at) VALUES (?, ?, ?, ?, ?)");
db.transaction((tx) => {
  const at = clock.now();
  for (let i = 0; i < EVENTS; i++) appendAuditEvent(tx, { organizationId, actorKind: null, actorId: null, action: "seeded", outcome: "SUCCESS" }, at);
  for (let i = 0; i < EVENTS / 2; i++) {
    const id = newId("UsageRecord");
    usage.run(id, organizationId, newId("Request"), at.getTime());
    text.run(id, organizationId, `user: a prompt of a few words, number ${i}`, `an answer of a few words, number ${i}`, at.getTime());
  }
});
clock.advance(31 * 86_400_000);

const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
const started = performance.now();
const report = await server.services.retention.apply(30);
const ms = performance.now() - started;
delay.disable();
const removed = report.organizations[0];
console.log(
  `removed ${removed.auditEvents} audit events, ${removed.usageRecords} usage records, ${removed.usageTexts} texts in ${(ms / 1000).toFixed(2)} s; ` +
    `longest event-loop stall ${(delay.max / 1e6).toFixed(1)} ms (p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms)`,
);
const check = await server.services.audit.verifyOrganization(organizationId);
console.log(`verification afterwards: valid ${check.valid}, from sequence ${check.firstSequence}, ${check.removedEvents} removed`);
await server.close();
rmSync(dataDir, { recursive: true, force: true });
