// A large removal runs in bounded batches, each its own transaction, with the event loop free in
// between: requests sent while it runs are answered before it ends, and it removes exactly what
// expired.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { RETENTION_BATCH } from "../../src/modules/retention/retention.service.js";
import { startServer, type TestServer } from "../harness/server.js";
import { count, seedRecords } from "./helpers.js";

let t: TestServer;
const clock = new ManualClock(new Date("2026-03-01T00:00:00.000Z"));

beforeAll(async () => {
  t = await startServer({ env: { PORTCULLIS_RETENTION_DAYS: "7" }, clock });
  // The start-up run, over before anything is old.
  expect((await t.server.retention!.runOnce()).organizations).toEqual([]);
  seedRecords(t, { events: 8 * RETENTION_BATCH, usage: 4 * RETENTION_BATCH });
  clock.advance(8 * 86_400_000);
});
afterAll(() => t.stop());

describe("a large removal", () => {
  it("serves other requests while it runs, and removes every expired row", async () => {
    const expiredEvents = count(t, "audit_events") - 1;
    const owner = t.client(t.ownerKey);
    let servedMeanwhile = false;
    const removing = t.server.retention!.runOnce().then((report) => ({ report, servedMeanwhile }));
    // Sent after the run began: answered before it ends only because the run yields between batches.
    const viewer = owner.data("{ viewer { kind } }").then(() => (servedMeanwhile = true));
    const [{ report, servedMeanwhile: before }] = await Promise.all([removing, viewer]);
    expect(before).toBe(true);
    expect(report.organizations).toEqual([
      { organizationId: t.organizationId, usageTexts: 4 * RETENTION_BATCH, usageRecords: 4 * RETENTION_BATCH, auditEvents: expiredEvents, firstKeptSequence: expiredEvents + 1 },
    ]);
    expect([count(t, "audit_events"), count(t, "usage_records"), count(t, "usage_texts")]).toEqual([1, 0, 0]);
    expect((await owner.data("{ verifyAuditLog { valid checkedEvents firstSequence removedEvents } }")).verifyAuditLog).toEqual({
      valid: true,
      checkedEvents: 1,
      firstSequence: expiredEvents + 1,
      removedEvents: expiredEvents,
    });
  });

  it("stops after its current batch when the server closes, and leaves a chain that verifies", async () => {
    seedRecords(t, { events: 4 * RETENTION_BATCH, usage: 4 * RETENTION_BATCH });
    clock.advance(8 * 86_400_000);
    const removing = t.server.retention!.runOnce();
    await t.server.retention!.stop();
    const report = await removing;
    expect(report.interrupted).toBe(true);
    expect(count(t, "usage_texts")).toBeGreaterThan(0);
    const check = await t.server.services.audit.verifyOrganization(t.organizationId);
    expect(check).toMatchObject({ valid: true, firstBrokenSequence: null });
  });
});
