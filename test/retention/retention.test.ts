// PORTCULLIS_RETENTION_DAYS through the real server on the injected clock: usage records, their
// stored texts and the start of each audit chain older than the period are removed, newer ones
// kept; verification then starts at the first kept event from the recorded anchor, and says so;
// raw SQL can remove neither a kept event nor the anchor, and with the triggers dropped
// verification catches it; one log line per run that removed something; a run at start-up.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { ConfigError, loadConfig } from "../../src/config.js";
import { startMockProvider, type MockProvider } from "../harness/mock-provider.js";
import { startServer, type TestServer } from "../harness/server.js";
import { INVOKE, PRIVATE_NETWORK, providerKey } from "../invoke/helpers.js";
import { canaryWord } from "../privacy/helpers.js";
import { findInDatabaseFiles } from "../secrets/helpers.js";

const DAY = 86_400_000;
const VERIFY = `query($from: SafeInt, $to: SafeInt) { verifyAuditLog(fromSequence: $from, toSequence: $to) {
  valid checkedEvents firstBrokenSequence lastSequence headHash firstSequence anchorHash removedEvents } }`;
const EVENTS = "{ auditEvents(first: 100) { nodes { sequence occurredAt previousHash hash } } }";
const RECORDS = "{ usageRecords(first: 100) { nodes { requestId createdAt promptText completionText } } }";
const ENV = { ...PRIVATE_NETWORK, PORTCULLIS_RETENTION_DAYS: "30", PORTCULLIS_STORE_TEXT: "true" };

let t: TestServer;
let mock: MockProvider;
const clock = new ManualClock(new Date("2026-01-01T00:00:00.000Z"));
let other: { organizationId: string; ownerKey: string };
/** The old part of the default organization's chain: every event written on the first day. */
let oldEvents: { sequence: number; hash: string }[];
let oldCalls: string[];
/** Words only the old calls' stored texts held. */
const oldWords = [canaryWord("Old"), canaryWord("Older")];
let keptCall: string;

const retentionLines = () => t.logs.filter((l) => l.includes("retention removed expired records")).map((l) => JSON.parse(l));

async function call(content: string): Promise<string> {
  const key = await providerKey(t, mock.url);
  mock.enqueue({ kind: "ok", content: `answer to ${content}` });
  return (await t.client(t.ownerKey).data(INVOKE, { input: { virtualKey: key.id, model: "gpt-4o", messages: [{ role: "USER", content }] } })).invokeModel.id;
}

beforeAll(async () => {
  mock = await startMockProvider();
  t = await startServer({ env: ENV, clock });
  // Day 0: the bootstrap, a second organization (a minute later: runs go through organizations
  // oldest first), workspaces, two calls (each also makes a virtual key).
  clock.advance(60_000);
  other = t.createOrganization("Retention neighbour");
  for (let i = 0; i < 3; i++) await t.client(other.ownerKey).data("mutation($n: String!) { createWorkspace(input: {name: $n}) { id } }", { n: `old ${i}` });
  oldCalls = [await call(`old ${oldWords[0]}`), await call(`old ${oldWords[1]}`)];
  oldEvents = (await t.client(t.ownerKey).data(EVENTS)).auditEvents.nodes;
  // Day 20: more, within any 30-day period that ends after day 30.
  clock.advance(20 * DAY);
  keptCall = await call("kept");
  await t.client(t.ownerKey).data("mutation { createWorkspace(input: {name: \"kept\"}) { id } }");
});
afterAll(async () => {
  await t.stop();
  await mock.close();
});

describe("configuration", () => {
  it("takes a whole number of days, 1 or more; unset keeps everything", () => {
    expect(loadConfig({}).retentionDays).toBeNull();
    expect(loadConfig({ PORTCULLIS_RETENTION_DAYS: "30" }).retentionDays).toBe(30);
    for (const bad of ["0", "-1", "1.5", "30d", "", " 30", "36501", "1e3"]) {
      expect(() => loadConfig({ PORTCULLIS_RETENTION_DAYS: bad }), bad).toThrow(ConfigError);
      expect(() => loadConfig({ PORTCULLIS_RETENTION_DAYS: bad }), bad).toThrow(/PORTCULLIS_RETENTION_DAYS: must be a whole number of days from 1 to 36500/);
    }
    expect(loadConfig({ PORTCULLIS_STORE_TEXT: "true" }).storeText).toBe(true);
    expect(loadConfig({}).storeText).toBe(false);
    expect(() => loadConfig({ PORTCULLIS_STORE_TEXT: "yes" })).toThrow(/PORTCULLIS_STORE_TEXT/);
  });
});

describe("retention", () => {
  it("removed nothing at start-up, when nothing was older than the period, and logged nothing", async () => {
    expect(t.server.retention).toBeDefined();
    expect((await t.server.retention!.runOnce()).organizations).toEqual([]);
    expect(retentionLines()).toEqual([]);
    expect((await t.client(t.ownerKey).data(VERIFY)).verifyAuditLog).toMatchObject({ valid: true, firstSequence: 1, anchorHash: null, removedEvents: 0 });
  });

  it("removes usage records, their texts and the start of each chain older than the period; keeps the rest", async () => {
    expect(findInDatabaseFiles(t.dataDir, oldWords.map((w) => Buffer.from(w))).length).toBeGreaterThan(0);
    clock.advance(15 * DAY); // day 35: the cutoff is day 5.
    const report = await t.server.retention!.runOnce();
    const old = oldEvents.length;
    expect(report.cutoff.toISOString()).toBe("2026-01-06T00:01:00.000Z");
    expect(report.organizations).toEqual([
      { organizationId: t.organizationId, usageTexts: 2, usageRecords: 2, auditEvents: old, firstKeptSequence: old + 1 },
      // Every event of the neighbour is old: all go but the newest, which the next event chains to.
      { organizationId: other.organizationId, usageTexts: 0, usageRecords: 0, auditEvents: 3, firstKeptSequence: 4 },
    ]);

    const records = (await t.client(t.ownerKey).data(RECORDS)).usageRecords.nodes;
    expect(records).toEqual([{ requestId: keptCall, createdAt: "2026-01-21T00:01:00.000Z", promptText: "user: kept", completionText: "answer to kept" }]);
    const db = t.server.database.sqlite;
    expect(db.prepare("SELECT count(*) FROM usage_records WHERE request_id IN (?, ?)").pluck().get(...oldCalls)).toBe(0);
    expect(db.prepare("SELECT count(*) FROM usage_texts").pluck().get()).toBe(1);
    // Overwritten in the database file, and gone from the -wal file, which the run truncated.
    expect(findInDatabaseFiles(t.dataDir, oldWords.map((w) => Buffer.from(w)))).toEqual([]);
    const events = (await t.client(t.ownerKey).data(EVENTS)).auditEvents.nodes;
    expect(events[0]).toMatchObject({ sequence: old + 1, previousHash: oldEvents.at(-1)!.hash });
    expect(events.every((e: { occurredAt: string }) => e.occurredAt >= "2026-01-21")).toBe(true);
  });

  it("logs one structured line for the run, with the counts per organization and kind", () => {
    const lines = retentionLines();
    expect(lines).toHaveLength(1);
    expect(lines[0].retention).toEqual({
      days: 30,
      cutoff: "2026-01-06T00:01:00.000Z",
      organizations: [
        { organizationId: t.organizationId, usageTexts: 2, usageRecords: 2, auditEvents: oldEvents.length, firstKeptSequence: oldEvents.length + 1 },
        { organizationId: other.organizationId, usageTexts: 0, usageRecords: 0, auditEvents: 3, firstKeptSequence: 4 },
      ],
    });
  });

  it("verifies from the first kept event, against the recorded anchor, and says so", async () => {
    const old = oldEvents.length;
    const verified = (await t.client(t.ownerKey).data(VERIFY)).verifyAuditLog;
    const events = (await t.client(t.ownerKey).data(EVENTS)).auditEvents.nodes;
    expect(verified).toEqual({
      valid: true,
      checkedEvents: events.length,
      firstBrokenSequence: null,
      lastSequence: events.at(-1).sequence,
      headHash: events.at(-1).hash,
      firstSequence: old + 1,
      anchorHash: oldEvents.at(-1)!.hash,
      removedEvents: old,
    });
    const neighbour = (await t.client(other.ownerKey).data(VERIFY)).verifyAuditLog;
    expect(neighbour).toMatchObject({ valid: true, checkedEvents: 1, firstSequence: 4, removedEvents: 3 });
  });

  it("starts a range that asks for removed events at the first kept one, and refuses one that ends before it", async () => {
    const old = oldEvents.length;
    const owner = t.client(t.ownerKey);
    expect((await owner.data(VERIFY, { from: 1, to: old + 2 })).verifyAuditLog).toMatchObject({ valid: true, checkedEvents: 2, firstSequence: old + 1, lastSequence: old + 2 });
    expect((await owner.data(VERIFY, { from: old + 2 })).verifyAuditLog).toMatchObject({ valid: true, firstSequence: old + 2, anchorHash: oldEvents.at(-1)!.hash });
    const res = await owner.query(VERIFY, { to: old });
    expect(res.body.errors?.[0].extensions, res.text).toMatchObject({ code: "BAD_USER_INPUT", field: "toSequence" });
    expect(res.body.errors?.[0].message).toBe(`Retention removed the events before sequence ${old + 1}: toSequence must be ${old + 1} or more`);
  });

  it("a second run finds nothing more to remove and logs nothing", async () => {
    expect((await t.server.retention!.runOnce()).organizations).toEqual([]);
    expect(retentionLines()).toHaveLength(1);
  });

  it("refuses, through ordinary SQL, to delete a kept event or the first kept one, or to move or remove the anchor", async () => {
    const db = t.server.database.sqlite;
    const org = t.organizationId;
    const first = oldEvents.length + 1;
    const snapshot = () => [db.prepare("SELECT * FROM audit_events WHERE organization_id = ? ORDER BY sequence").all(org), db.prepare("SELECT * FROM audit_retention_anchors ORDER BY organization_id").all()];
    const before = snapshot();
    expect(() => db.prepare("DELETE FROM audit_events WHERE organization_id = ? AND sequence = ?").run(org, first)).toThrow(/append-only: an event cannot be deleted/);
    expect(() => db.prepare("DELETE FROM audit_events WHERE organization_id = ? AND sequence = ?").run(org, first + 1)).toThrow(/append-only: an event cannot be deleted/);
    expect(() => db.prepare("DELETE FROM audit_events").run()).toThrow(/append-only/);
    expect(() => db.prepare("UPDATE audit_retention_anchors SET anchor_hash = ? WHERE organization_id = ?").run("f".repeat(64), org)).toThrow(/only moves forward, to the previousHash of a kept event/);
    expect(() => db.prepare("UPDATE audit_retention_anchors SET first_kept_sequence = 1, anchor_hash = ? WHERE organization_id = ?").run("0".repeat(64), org)).toThrow(/only moves forward/);
    // Forward, but naming a hash that is not the event's previousHash.
    expect(() => db.prepare("UPDATE audit_retention_anchors SET first_kept_sequence = first_kept_sequence + 1 WHERE organization_id = ?").run(org)).toThrow(/only moves forward/);
    expect(() => db.prepare("DELETE FROM audit_retention_anchors WHERE organization_id = ?").run(org)).toThrow(/cannot be deleted while its organization exists/);
    const neighbour = t.createOrganization("Anchorless");
    expect(() =>
      db.prepare("INSERT INTO audit_retention_anchors VALUES (?, 1, ?, 0, 0)").run(neighbour.organizationId, "f".repeat(64)),
    ).toThrow(/must carry the previousHash of the first kept event/);
    expect(snapshot()).toEqual(before);
    expect((await t.client(t.ownerKey).data(VERIFY)).verifyAuditLog.valid).toBe(true);
  });

  it("detects, with the triggers dropped, a deleted first kept event, an edited or deleted anchor, and a deleted kept event", async () => {
    const db = t.server.database.sqlite;
    const org = t.organizationId;
    const first = oldEvents.length + 1;
    const owner = t.client(t.ownerKey);
    const triggers = db.prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' AND tbl_name IN ('audit_events', 'audit_retention_anchors')").all() as { name: string; sql: string }[];
    expect(triggers.map((tr) => tr.name).sort()).toEqual(["audit_anchors_checked_insert", "audit_anchors_checked_update", "audit_anchors_no_delete", "audit_events_no_delete", "audit_events_no_update"]);
    for (const tr of triggers) db.exec(`DROP TRIGGER ${tr.name}`);
    const events = db.prepare("SELECT * FROM audit_events WHERE organization_id = ? ORDER BY sequence").all(org) as Record<string, unknown>[];
    const anchor = db.prepare("SELECT * FROM audit_retention_anchors WHERE organization_id = ?").get(org) as Record<string, unknown>;
    const restore = () => {
      db.prepare("DELETE FROM audit_events WHERE organization_id = ?").run(org);
      db.prepare("DELETE FROM audit_retention_anchors WHERE organization_id = ?").run(org);
      const insert = (table: string, row: Record<string, unknown>) =>
        db.prepare(`INSERT INTO ${table} (${Object.keys(row).join(",")}) VALUES (${Object.keys(row).map(() => "?").join(",")})`).run(...Object.values(row));
      for (const row of events) insert("audit_events", row);
      insert("audit_retention_anchors", anchor);
    };
    try {
      db.prepare("DELETE FROM audit_events WHERE organization_id = ? AND sequence = ?").run(org, first);
      expect((await owner.data(VERIFY)).verifyAuditLog).toMatchObject({ valid: false, firstBrokenSequence: first, firstSequence: first });
      restore();

      db.prepare("UPDATE audit_retention_anchors SET anchor_hash = ? WHERE organization_id = ?").run("f".repeat(64), org);
      expect((await owner.data(VERIFY)).verifyAuditLog).toMatchObject({ valid: false, firstBrokenSequence: first, anchorHash: "f".repeat(64) });
      restore();

      // Without its anchor the chain must start at 1 from 64 zeros, which it no longer does.
      db.prepare("DELETE FROM audit_retention_anchors WHERE organization_id = ?").run(org);
      expect((await owner.data(VERIFY)).verifyAuditLog).toMatchObject({ valid: false, firstBrokenSequence: 1, anchorHash: null });
      restore();

      // A kept event between the first and the head (the head's removal is for signed checkpoints to catch).
      expect(events.length).toBeGreaterThanOrEqual(3);
      db.prepare("DELETE FROM audit_events WHERE organization_id = ? AND sequence = ?").run(org, first + 1);
      expect((await owner.data(VERIFY)).verifyAuditLog).toMatchObject({ valid: false, firstBrokenSequence: first + 1 });
      restore();

      expect((await owner.data(VERIFY)).verifyAuditLog).toMatchObject({ valid: true, firstSequence: first });
    } finally {
      for (const tr of triggers) db.exec(tr.sql);
    }
  });

  it("still lets an organization be deleted with its retained chain and anchor", () => {
    const db = t.server.database.sqlite;
    t.server.services.organizations.delete(other.organizationId);
    expect(db.prepare("SELECT count(*) FROM audit_events WHERE organization_id = ?").pluck().get(other.organizationId)).toBe(0);
    expect(db.prepare("SELECT count(*) FROM audit_retention_anchors WHERE organization_id = ?").pluck().get(other.organizationId)).toBe(0);
  });

  it("runs at start-up: a restarted server removes what expired while it was down", async () => {
    await t.close();
    // Day 60: the cutoff is day 30, after the kept call (day 20) and everything since.
    clock.advance(25 * DAY);
    const restarted = await startServer({ env: ENV, clock, dataDir: t.dataDir });
    try {
      // The start-up run, or (when it is already over) a run that finds nothing left.
      await restarted.server.retention!.runOnce();
      const lines = restarted.logs.filter((l) => l.includes("retention removed expired records")).map((l) => JSON.parse(l));
      expect(lines).toHaveLength(1);
      const mine = lines[0].retention.organizations.find((o: { organizationId: string }) => o.organizationId === t.organizationId);
      expect(mine).toMatchObject({ usageTexts: 1, usageRecords: 1 });
      expect((await restarted.client(t.ownerKey).data(RECORDS)).usageRecords.nodes).toEqual([]);
      const verified = (await restarted.client(t.ownerKey).data(VERIFY)).verifyAuditLog;
      expect(verified).toMatchObject({ valid: true, checkedEvents: 1, removedEvents: oldEvents.length + mine.auditEvents });
    } finally {
      await restarted.stop();
    }
  });
});
