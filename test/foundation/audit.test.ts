import { createHash } from "node:crypto";
import canonicalize from "canonicalize";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isId } from "../../src/ids.js";
import { startServer, type TestServer } from "../harness/server.js";

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
  const owner = t.client(t.ownerKey);
  for (let i = 0; i < 6; i++) await owner.data("mutation($n: String!) { createWorkspace(input: {name: $n}) { id } }", { n: `audit ${i}` });
});
afterAll(() => t.stop());

const FIELDS = "id sequence occurredAt actorKind actorId workspaceId action targetKind targetId outcome ip userAgent requestId details previousHash hash";
const VERIFY = "{ verifyAuditLog { valid checkedEvents firstBrokenSequence lastSequence headHash } }";

/** The contract's recipe, written independently of the server's code, as an integrator would. */
function recompute(event: Record<string, unknown>): string {
  const { hash: _hash, ...rest } = event;
  return createHash("sha256").update(String(event.previousHash) + canonicalize(rest), "utf8").digest("hex");
}

describe("audit log", () => {
  it("chains every event as the contract describes, verifiable from the API's own values", async () => {
    const { auditEvents } = await t.client(t.ownerKey).data(`{ auditEvents(first: 100) { nodes { ${FIELDS} } } }`);
    const nodes = auditEvents.nodes as Record<string, unknown>[];
    expect(nodes.length).toBeGreaterThanOrEqual(7);
    expect(nodes[0].previousHash).toBe("0".repeat(64));
    nodes.forEach((e, i) => {
      expect(e.sequence).toBe(i + 1);
      expect(recompute(e)).toBe(e.hash);
      if (i > 0) expect(e.previousHash).toBe(nodes[i - 1].hash);
    });
    expect(nodes[1]).toMatchObject({ action: "createWorkspace", outcome: "SUCCESS", ip: "127.0.0.1", actorKind: "API_KEY" });
    const verified = (await t.client(t.ownerKey).data(VERIFY)).verifyAuditLog;
    expect(verified).toMatchObject({ valid: true, firstBrokenSequence: null, lastSequence: nodes.length, headHash: nodes.at(-1)!.hash });
  });

  it("gives each event an ID that starts with the time of writing, so that IDs are appended to their index in order", async () => {
    const { auditEvents } = await t.client(t.ownerKey).data("{ auditEvents(first: 100) { nodes { id } } }");
    const ids = (auditEvents.nodes as { id: string }[]).map((n) => n.id);
    for (const id of ids) expect(isId(id, "AuditEvent"), id).toBe(true);
    const times = ids.map((id) => id.slice("evt_".length, "evt_".length + 8));
    expect([...times].sort()).toEqual(times);
    // The rest stays random: no two events share an ID, also when written in the same millisecond.
    expect(new Set(ids.map((id) => id.slice(12))).size).toBe(ids.length);
  });

  it("pages in sequence order with filters", async () => {
    const owner = t.client(t.ownerKey);
    const page1 = (await owner.data("{ auditEvents(first: 3) { nodes { sequence } pageInfo { hasNextPage endCursor } } }")).auditEvents;
    expect(page1.nodes.map((n: { sequence: number }) => n.sequence)).toEqual([1, 2, 3]);
    const page2 = (await owner.data("query($a: String) { auditEvents(first: 3, after: $a) { nodes { sequence } } }", { a: page1.pageInfo.endCursor })).auditEvents;
    expect(page2.nodes.map((n: { sequence: number }) => n.sequence)).toEqual([4, 5, 6]);
    const filtered = (await owner.data("{ auditEvents(filter: {action: \"createOrganization\"}) { nodes { sequence actorKind } } }")).auditEvents;
    expect(filtered.nodes).toEqual([{ sequence: 1, actorKind: null }]);
  });

  it("refuses to change or delete an event through ordinary SQL", async () => {
    const db = t.server.database.sqlite;
    const org = t.organizationId;
    const before = db.prepare("SELECT * FROM audit_events WHERE organization_id = ? ORDER BY sequence").all(org);
    expect(() => db.prepare("UPDATE audit_events SET outcome = 'DENIED' WHERE organization_id = ? AND sequence = 3").run(org)).toThrow(/append-only: an event cannot be changed/);
    expect(() => db.prepare("DELETE FROM audit_events WHERE organization_id = ? AND sequence = 1").run(org)).toThrow(/append-only: an event cannot be deleted/);
    expect(() => db.prepare("DELETE FROM audit_events").run()).toThrow(/append-only/);
    expect(db.prepare("SELECT * FROM audit_events WHERE organization_id = ? ORDER BY sequence").all(org)).toEqual(before);
    expect((await t.client(t.ownerKey).data(VERIFY)).verifyAuditLog.valid).toBe(true);
  });

  it("reports the first broken sequence after a row is edited, deleted or reordered (triggers dropped first)", async () => {
    const db = t.server.database.sqlite;
    const org = t.organizationId;
    const owner = t.client(t.ownerKey);
    // Someone holding the file can drop the triggers; the chain is what catches the rest.
    const triggers = (db.prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'audit_events'").all() as { name: string; sql: string }[]);
    expect(triggers.map((tr) => tr.name).sort()).toEqual(["audit_events_no_delete", "audit_events_no_update"]);
    for (const tr of triggers) db.exec(`DROP TRIGGER ${tr.name}`);
    const backup = db.prepare("SELECT * FROM audit_events WHERE organization_id = ? ORDER BY sequence").all(org) as Record<string, unknown>[];
    const restore = () => {
      db.prepare("DELETE FROM audit_events WHERE organization_id = ?").run(org);
      const insert = db.prepare(`INSERT INTO audit_events (${Object.keys(backup[0]).join(",")}) VALUES (${Object.keys(backup[0]).map(() => "?").join(",")})`);
      for (const row of backup) insert.run(...Object.values(row));
    };

    db.prepare("UPDATE audit_events SET outcome = 'DENIED' WHERE organization_id = ? AND sequence = 3").run(org);
    expect((await owner.data(VERIFY)).verifyAuditLog).toMatchObject({ valid: false, firstBrokenSequence: 3 });
    restore();

    db.prepare("DELETE FROM audit_events WHERE organization_id = ? AND sequence = 4").run(org);
    expect((await owner.data(VERIFY)).verifyAuditLog).toMatchObject({ valid: false, firstBrokenSequence: 4 });
    restore();

    db.prepare("DELETE FROM audit_events WHERE organization_id = ? AND sequence = 1").run(org);
    expect((await owner.data(VERIFY)).verifyAuditLog).toMatchObject({ valid: false, firstBrokenSequence: 1 });
    restore();

    // Reorder: swap the sequence numbers of events 2 and 5.
    db.prepare("UPDATE audit_events SET sequence = -1 WHERE organization_id = ? AND sequence = 2").run(org);
    db.prepare("UPDATE audit_events SET sequence = 2 WHERE organization_id = ? AND sequence = 5").run(org);
    db.prepare("UPDATE audit_events SET sequence = 5 WHERE organization_id = ? AND sequence = -1").run(org);
    expect((await owner.data(VERIFY)).verifyAuditLog).toMatchObject({ valid: false, firstBrokenSequence: 2 });
    restore();

    expect((await owner.data(VERIFY)).verifyAuditLog.valid).toBe(true);
    for (const tr of triggers) db.exec(tr.sql);
  });

  it("verifies a range", async () => {
    const res = (await t.client(t.ownerKey).data("{ verifyAuditLog(fromSequence: 3, toSequence: 5) { valid checkedEvents lastSequence } }")).verifyAuditLog;
    expect(res).toEqual({ valid: true, checkedEvents: 3, lastSequence: 5 });
  });

  it("records the TCP peer, not a forged X-Forwarded-For, when no proxy is trusted", async () => {
    const res = await t.client(t.ownerKey).query("mutation { createWorkspace(input: {name: \"xff\"}) { id } }", undefined, { "x-forwarded-for": "203.0.113.9" });
    const id = res.body.data.createWorkspace.id;
    const { auditEvents } = await t.client(t.ownerKey).data("query($id: ID!) { auditEvents(filter: {targetId: $id}) { nodes { ip } } }", { id });
    expect(auditEvents.nodes[0].ip).toBe("127.0.0.1");
  });

  it("believes X-Forwarded-For only from a trusted proxy", async () => {
    const proxied = await startServer({ env: { PORTCULLIS_TRUSTED_PROXIES: "127.0.0.1" } });
    try {
      const c = proxied.client(proxied.ownerKey);
      const id = (await c.query("mutation { createWorkspace(input: {name: \"via proxy\"}) { id } }", undefined, { "x-forwarded-for": "198.51.100.7, 127.0.0.1" })).body.data.createWorkspace.id;
      const { auditEvents } = await c.data("query($id: ID!) { auditEvents(filter: {targetId: $id}) { nodes { ip } } }", { id });
      expect(auditEvents.nodes[0].ip).toBe("198.51.100.7");
    } finally {
      await proxied.stop();
    }
  });

  it("writes an authenticate event to the key's organization when a known key fails", async () => {
    const wrong = t.ownerKey.replace(/_(.{32})(.{6})$/, (_m, secret: string) => `_${secret.split("").reverse().join("")}`);
    // Recompute nothing: a wrong secret fails the checksum first, so build a well-formed wrong key instead.
    const { formatApiKey } = await import("../../src/crypto/api-key-format.js");
    const keyId = "ak_" + t.ownerKey.slice(4, 26);
    const forged = formatApiKey(keyId, "A".repeat(32));
    expect(wrong).not.toBe(t.ownerKey);
    const res = await t.client(forged).query("{ viewer { principalId } }");
    expect(res.status).toBe(401);
    const { auditEvents } = await t.client(t.ownerKey).data("{ auditEvents(filter: {action: \"authenticate\"}) { nodes { outcome targetId targetKind actorId details } } }");
    expect(auditEvents.nodes.at(-1)).toEqual({ outcome: "DENIED", targetId: keyId, targetKind: "ApiKey", actorId: null, details: { reason: "bad_secret" } });
  });
});

describe("verifying a long chain", () => {
  it("yields to the event loop between batches: other requests are served while it runs", async () => {
    const big = await startServer();
    try {
      // 3,500 events written directly: many verification batches.
      const { appendAuditEvent } = await import("../../src/modules/audit/audit.recorder.js");
      const { db } = big.server.database;
      db.transaction((tx) => {
        for (let i = 0; i < 3500; i++) appendAuditEvent(tx, { organizationId: big.organizationId, actorKind: null, actorId: null, action: "seeded", outcome: "SUCCESS" }, big.clock.now());
      });
      const owner = big.client(big.ownerKey);
      let servedMeanwhile = false;
      const verifying = owner.data(VERIFY).then((d) => ({ result: d.verifyAuditLog, servedMeanwhile }));
      // Sent after the verification: answered before it ends only because verification yields.
      const viewer = owner.data("{ viewer { kind } }").then(() => (servedMeanwhile = true));
      const [{ result, servedMeanwhile: before }] = await Promise.all([verifying, viewer]);
      expect(result).toMatchObject({ valid: true, checkedEvents: 3501 });
      expect(before).toBe(true);
    } finally {
      await big.stop();
    }
  });
});
