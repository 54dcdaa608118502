// portcullis apply-retention [--dry-run] as an operator runs it, on a database whose records were
// written 400 days ago (the command's clock is the system's): what it would remove, then what it
// removed with progress in batches, then nothing; verify-audit saying where the chain starts;
// plain refusals with non-zero exits.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { RETENTION_BATCH } from "../../src/modules/retention/retention.service.js";
import { runCli } from "../harness/cli.js";
import { startServer, TEST_MASTER_KEY, type TestServer } from "../harness/server.js";
import { count, seedRecords } from "./helpers.js";

const DAY = 86_400_000;
const dir = mkdtempSync(join(tmpdir(), "portcullis-retention-cli-"));
const dataDir = join(dir, "data");
const env = { PORTCULLIS_DATA_DIR: dataDir, PORTCULLIS_MASTER_KEYS: TEST_MASTER_KEY, PORTCULLIS_RETENTION_DAYS: "30" };
let t: TestServer;
let expiredEvents: number;
let cutoffAfter: number;

beforeAll(async () => {
  t = await startServer({ dataDir, clock: new ManualClock(new Date(Date.now() - 400 * DAY)) });
  seedRecords(t, { events: 2 * RETENTION_BATCH + 200, usage: RETENTION_BATCH + 100 });
  expiredEvents = count(t, "audit_events");
  // Signed then: the head that retention removes below, whose checkpoint must vouch for the anchor.
  t.server.services.auditCheckpoints.signHead(t.organizationId);
  // Today: one event that stays, and is the one the removed chain start leads to.
  t.clock.set(new Date());
  await t.client(t.ownerKey).data("mutation { createWorkspace(input: {name: \"kept\"}) { id } }");
  await t.close();
  cutoffAfter = Date.now() - 30 * DAY;
});
afterAll(async () => {
  await t.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Counts read with a short-lived server on the same data directory. */
async function counts() {
  const s = await startServer({ dataDir });
  try {
    return [count(s, "usage_texts", t.organizationId), count(s, "usage_records", t.organizationId), count(s, "audit_events", t.organizationId)];
  } finally {
    await s.close();
  }
}

describe("portcullis apply-retention", () => {
  it("--dry-run says what it would remove and removes nothing", async () => {
    const res = await runCli(["apply-retention", "--dry-run"], env);
    expect(res.code, res.stderr).toBe(0);
    const [head, line] = res.stdout.trim().split("\n");
    const cutoff = /^Retention of 30 days: would remove what is older than (\S+)\.$/.exec(head);
    expect(cutoff, res.stdout).not.toBeNull();
    expect(Date.parse(cutoff![1])).toBeGreaterThanOrEqual(cutoffAfter);
    expect(line).toBe(
      `${t.organizationId}: would remove ${RETENTION_BATCH + 100} usage texts, ${RETENTION_BATCH + 100} usage records, ${expiredEvents} audit events; the audit chain would start at sequence ${expiredEvents + 1}`,
    );
    expect(await counts()).toEqual([RETENTION_BATCH + 100, RETENTION_BATCH + 100, expiredEvents + 1]);
  });

  it("removes it in batches, reporting progress, and prints the same plainly", async () => {
    const res = await runCli(["apply-retention"], env);
    expect(res.code, res.stderr).toBe(0);
    const org = t.organizationId;
    expect(res.stderr.trim().split("\n")).toEqual([
      `${org}: removed ${RETENTION_BATCH} usage texts so far`,
      `${org}: removed ${RETENTION_BATCH + 100} usage texts so far`,
      `${org}: removed ${RETENTION_BATCH} usage records so far`,
      `${org}: removed ${RETENTION_BATCH + 100} usage records so far`,
      `${org}: removed ${RETENTION_BATCH} audit events so far`,
      `${org}: removed ${2 * RETENTION_BATCH} audit events so far`,
      `${org}: removed ${expiredEvents} audit events so far`,
    ]);
    expect(res.stdout).toMatch(/^Retention of 30 days: removed what is older than \S+\.\n/);
    expect(res.stdout).toContain(
      `${org}: removed ${RETENTION_BATCH + 100} usage texts, ${RETENTION_BATCH + 100} usage records, ${expiredEvents} audit events; the audit chain starts at sequence ${expiredEvents + 1}\n`,
    );
    expect(await counts()).toEqual([0, 0, 1]);
  });

  it("finds nothing the second time", async () => {
    const res = await runCli(["apply-retention"], env);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^Retention of 30 days: removed what is older than \S+\.\nNothing is older than that\.\n$/);
    expect(res.stderr).toBe("");
  });

  it("verify-audit says where the chain starts now, and that it is valid", async () => {
    const res = await runCli(["verify-audit", t.organizationId], env);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(
      new RegExp(`^${t.organizationId}: valid, 1 events, head [0-9a-f]{64}, from sequence ${expiredEvents + 1}: retention removed ${expiredEvents} earlier events, anchor [0-9a-f]{64}\\n$`),
    );
  });

  it("an export after retention verifies offline from the anchor, vouched for by the checkpoint signed before", async () => {
    const signed = await runCli(["checkpoint-audit", t.organizationId], env);
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.stdout).toContain(`${t.organizationId}: signed sequence ${expiredEvents + 1}`);
    const exported = await runCli(["export-audit", t.organizationId], env);
    expect(exported.code, exported.stderr).toBe(0);
    const key = await runCli(["audit-public-key"], env);
    expect(key.code, key.stderr).toBe(0);
    const file = join(dir, "export.jsonl");
    const keyFile = join(dir, "audit.pem");
    writeFileSync(file, exported.stdout);
    writeFileSync(keyFile, key.stdout);
    const res = await runCli(["verify-audit", "--export", file, "--public-key", keyFile], { PORTCULLIS_DATA_DIR: join(dir, "none") });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toContain(`events: 1 checked, sequences ${expiredEvents + 1} to ${expiredEvents + 1}`);
    expect(res.stdout).toContain(`(the export starts at sequence ${expiredEvents + 1}: the events before it were removed or left out), signed by the checkpoint at sequence ${expiredEvents}`);
    expect(res.stdout).toContain("checkpoints: 1 valid");
    expect(res.stdout.trimEnd().split("\n").at(-1)).toBe("result: VALID");
  });

  it("refuses plainly, with a non-zero exit: no period configured, a bad period, an unknown option", async () => {
    const unset = await runCli(["apply-retention"], { ...env, PORTCULLIS_RETENTION_DAYS: "" });
    expect(unset.code).toBe(1);
    expect(unset.stderr).toContain("PORTCULLIS_RETENTION_DAYS: must be a whole number of days from 1 to 36500");
    const { PORTCULLIS_RETENTION_DAYS: _days, ...withoutDays } = env;
    const none = await runCli(["apply-retention"], withoutDays);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe("portcullis: PORTCULLIS_RETENTION_DAYS is not set: everything is kept, there is nothing to remove\n");
    const bad = await runCli(["apply-retention"], { ...env, PORTCULLIS_RETENTION_DAYS: "thirty" });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/PORTCULLIS_RETENTION_DAYS: must be a whole number/);
    const option = await runCli(["apply-retention", "--force"], env);
    expect(option.code).toBe(2);
    expect(option.stderr).toMatch(/^portcullis: apply-retention takes only --dry-run, not --force\n/);
  });
});
