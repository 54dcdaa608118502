// Seeds for the retention tests: many audit events and usage records (with stored texts) at the
// server clock's current time, written the way the server writes them, in one transaction.
import { appendAuditEvent } from "../../src/modules/audit/audit.recorder.js";
import { newId } from "../../src/ids.js";
import type { TestServer } from "../harness/server.js";

export function seedRecords(t: TestServer, counts: { events: number; usage: number }, organizationId = t.organizationId): void {
  const { db, sqlite } = t.server.database;
  const at = t.clock.now();
  const usage = sqlite.prepare(
    `INSERT INTO usage_records (id, organization_id, workspace_id, request_id, api_key_id, virtual_key_id, route_id, provider, model, success, prompt_tokens, completion_tokens, cost_usd, latency_ms, created_at)
     VALUES (?, ?, NULL, ?, NULL, NULL, NULL, 'OPENAI', 'gpt-4o', 1, 12, 5, 0, 3, ?)`,
  );
  const text = sqlite.prepare("INSERT INTO usage_texts (usage_record_id, organization_id, prompt_text, completion_text, created_at) VALUES (?, ?, ?, ?, ?)");
  db.transaction((tx) => {
    for (let i = 0; i < counts.events; i++) appendAuditEvent(tx, { organizationId, actorKind: null, actorId: null, action: "seeded", outcome: "SUCCESS" }, at);
    for (let i = 0; i < counts.usage; i++) {
      const id = newId("UsageRecord");
      usage.run(id, organizationId, newId("Request"), at.getTime());
      text.run(id, organizationId, `user: seeded prompt ${i}`, `seeded answer ${i}`, at.getTime());
    }
  });
}

export function count(t: TestServer, table: "audit_events" | "usage_records" | "usage_texts", organizationId = t.organizationId): number {
  return t.server.database.sqlite.prepare(`SELECT count(*) FROM ${table} WHERE organization_id = ?`).pluck().get(organizationId) as number;
}
