// auditEvents stays fast at any length of the log: every query it runs, for every filter, a deep
// cursor and both kinds of reader, is answered by SQLite from an index in sequence order (no
// scan of the organization, no sort), as EXPLAIN QUERY PLAN shows for the statements the server
// really ran; and each page holds exactly the events the reader may see.
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { roleBindings } from "../../src/db/schema.js";
import { newId } from "../../src/ids.js";
import { appendAuditEvent, type AuditEntry } from "../../src/modules/audit/audit.recorder.js";
import { encodeCursor } from "../../src/modules/common/pagination.js";
import { seed } from "../harness/factories.js";
import { startServer, type TestServer } from "../harness/server.js";

// Records the SQL of every statement the server reads with while `recording` is on.
const executed: string[] = [];
let recording = false;
{
  const probe = new Database(":memory:");
  const statement = Object.getPrototypeOf(probe.prepare("SELECT 1")) as Record<"all" | "get" | "iterate", (...args: unknown[]) => unknown>;
  probe.close();
  for (const method of ["all", "get", "iterate"] as const) {
    const original = statement[method];
    statement[method] = function (this: { source: string }, ...args: unknown[]) {
      if (recording) executed.push(this.source);
      return original.apply(this, args);
    };
  }
}

interface Row {
  sequence: number;
  workspace_id: string | null;
  actor_id: string | null;
  action: string;
  target_id: string | null;
  outcome: string;
  occurred_at: number;
}

let t: TestServer;
let ws: string[];
let owner: { token: string };
let scopedOne: { token: string };
let scopedTwo: { token: string };
const actors = ["usr_planactor0000000000000001", "ak_planactor00000000000000002"];
const targets = ["vk_plantarget000000000000001", "pol_plantarget00000000000002"];

function allRows(): Row[] {
  return t.server.database.sqlite
    .prepare("SELECT sequence, workspace_id, actor_id, action, target_id, outcome, occurred_at FROM audit_events WHERE organization_id = ? ORDER BY sequence")
    .all(t.organizationId) as Row[];
}

beforeAll(async () => {
  t = await startServer();
  const s = seed(t);
  ws = [s.workspace("plans-a"), s.workspace("plans-b"), s.workspace("plans-c")];
  owner = { token: t.ownerKey };
  scopedOne = s.apiKey("manager", ws[0]);
  const two = s.apiKey("manager", ws[1]);
  t.server.database.db
    .insert(roleBindings)
    .values({ id: newId("RoleBinding"), organizationId: t.organizationId, roleId: s.roleId("manager"), principalKind: "API_KEY", principalId: two.id, workspaceId: ws[2], createdAt: t.clock.now() })
    .run();
  scopedTwo = two;
  // 300 events a second apart, spread over the workspaces (and none), actors, actions, targets and outcomes.
  const { db } = t.server.database;
  db.transaction((tx) => {
    for (let i = 0; i < 300; i++) {
      t.clock.advance(1000);
      const entry: AuditEntry = {
        organizationId: t.organizationId,
        actorKind: i % 3 === 1 ? "API_KEY" : "USER",
        actorId: actors[i % 3 === 1 ? 1 : 0],
        workspaceId: i % 4 === 3 ? null : ws[i % 4],
        action: i % 5 === 0 ? "createPolicy" : "invokeModel",
        targetKind: "VirtualKey",
        targetId: targets[i % 3 === 0 ? 1 : 0],
        outcome: i % 7 === 0 ? "DENIED" : i % 11 === 0 ? "FAILURE" : "SUCCESS",
      };
      appendAuditEvent(tx, entry, t.clock.now());
    }
  });
});
afterAll(() => t.stop());

const QUERY = "query($f: AuditFilter, $n: Int, $a: String) { auditEvents(filter: $f, first: $n, after: $a) { nodes { sequence } pageInfo { hasNextPage endCursor } } }";
const PAGE = 7;

/** The plan of each statement on audit_events the server ran for one request. */
function plans(statements: string[]): { sql: string; plan: string[] }[] {
  const sqlite = t.server.database.sqlite;
  return statements
    .filter((sql) => /\baudit_events\b/.test(sql))
    .map((sql) => ({
      sql,
      plan: (sqlite.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...new Array((sql.match(/\?/g) ?? []).length).fill(null)) as { detail: string }[]).map((r) => r.detail),
    }));
}

async function run(token: string, filter: Record<string, unknown> | null, after?: string) {
  executed.length = 0;
  recording = true;
  try {
    return (await t.client(token).data(QUERY, { f: filter, n: PAGE, a: after ?? null })).auditEvents as { nodes: { sequence: number }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
  } finally {
    recording = false;
  }
}

describe("auditEvents query plans", () => {
  // scoped: the reader's own workspaces are one more equality, which the workspace index answers.
  const readers = [
    { name: "an organization-wide reader", token: () => owner.token, sees: () => (_r: Row) => true, workspace: () => ws[2], scoped: false },
    { name: "a reader scoped to one workspace", token: () => scopedOne.token, sees: () => (r: Row) => r.workspace_id === ws[0], workspace: () => ws[0], scoped: true },
    { name: "a reader scoped to two workspaces", token: () => scopedTwo.token, sees: () => (r: Row) => r.workspace_id === ws[1] || r.workspace_id === ws[2], workspace: () => ws[2], scoped: true },
  ];
  const at = (sequence: number) => new Date(allRows().find((r) => r.sequence === sequence)!.occurred_at).toISOString();
  /**
   * A filter, what it keeps, the cursor to start after, and the index of the column it holds
   * equal (none: the sequence index); workspaceId names a workspace the reader may read.
   */
  const filters: { name: string; filter: (workspace: string) => Record<string, unknown> | null; keeps: (workspace: string) => (r: Row) => boolean; index?: string; after?: () => string }[] = [
    { name: "no filter", filter: () => null, keeps: () => () => true },
    { name: "workspaceId", filter: (w) => ({ workspaceId: w }), keeps: (w) => (r) => r.workspace_id === w, index: "audit_org_workspace" },
    { name: "actorId", filter: () => ({ actorId: actors[1] }), keeps: () => (r) => r.actor_id === actors[1], index: "audit_org_actor" },
    { name: "action", filter: () => ({ action: "createPolicy" }), keeps: () => (r) => r.action === "createPolicy", index: "audit_org_action" },
    { name: "targetId", filter: () => ({ targetId: targets[1] }), keeps: () => (r) => r.target_id === targets[1], index: "audit_org_target" },
    { name: "outcome", filter: () => ({ outcome: "DENIED" }), keeps: () => (r) => r.outcome === "DENIED", index: "audit_org_outcome" },
    { name: "from", filter: () => ({ from: at(200) }), keeps: () => (r) => r.sequence >= 200 },
    { name: "to", filter: () => ({ to: at(60) }), keeps: () => (r) => r.sequence <= 60 },
    { name: "from and to", filter: () => ({ from: at(100), to: at(140) }), keeps: () => (r) => r.sequence >= 100 && r.sequence <= 140 },
    { name: "a deep cursor", filter: () => null, keeps: () => (r) => r.sequence > 250, after: () => encodeCursor([250]) },
    { name: "a deep cursor and an action", filter: () => ({ action: "invokeModel" }), keeps: () => (r) => r.sequence > 250 && r.action === "invokeModel", index: "audit_org_action", after: () => encodeCursor([250]) },
  ];

  for (const reader of readers) {
    for (const c of filters) {
      it(`${reader.name}, ${c.name}: the right page, from an index in sequence order`, async () => {
        const page = await run(reader.token(), c.filter(reader.workspace()), c.after?.());
        const keeps = c.keeps(reader.workspace());
        const expected = allRows().filter((r) => reader.sees()(r) && keeps(r)).map((r) => r.sequence);
        expect(expected.length).toBeGreaterThan(0);
        expect(page.nodes.map((n) => n.sequence)).toEqual(expected.slice(0, PAGE));
        expect(page.pageInfo.hasNextPage).toBe(expected.length > PAGE);

        const ran = plans(executed);
        const pages = ran.filter(({ sql }) => sql.includes('"details"'));
        expect(pages.length).toBe(reader === readers[2] && c.name !== "workspaceId" ? 2 : 1);
        // The page: a search bounded on both sides of sequence (a time range is a sequence range).
        const allowed = reader.scoped ? ["audit_org_workspace", c.index] : [c.index ?? "audit_org_sequence"];
        for (const { sql, plan } of pages) {
          expect(plan, sql).toHaveLength(1);
          const [, index] = /^SEARCH audit_events USING INDEX (audit_org_\w+) \(organization_id=\?( AND \w+=\?)? AND sequence>\? AND sequence<\?\)$/.exec(plan[0]) ?? [];
          expect(allowed, `${plan[0]}\n${sql}`).toContain(index);
        }
        // Anything else (a time range's bounds): point lookups on the sequence index.
        for (const { sql, plan } of ran.filter((r) => !pages.includes(r))) {
          expect(plan, sql).toEqual([expect.stringMatching(/^SEARCH audit_events USING (COVERING )?INDEX audit_org_sequence \(organization_id=\?( AND sequence>\?)?\)$/)]);
        }
      });
    }
  }

  it("follows cursors to the end of a filtered list: every matching event once, in order", async () => {
    const expected = allRows().filter((r) => (r.workspace_id === ws[1] || r.workspace_id === ws[2]) && r.outcome === "SUCCESS").map((r) => r.sequence);
    const seen: number[] = [];
    let after: string | undefined;
    for (let i = 0; i < 100; i++) {
      const page = await run(scopedTwo.token, { outcome: "SUCCESS" }, after);
      seen.push(...page.nodes.map((n) => n.sequence));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor!;
    }
    expect(seen).toEqual(expected);
  });

  it("a time range with no event, a workspace outside the reader's scope and a range ending before it starts give empty pages", async () => {
    const last = allRows().at(-1)!;
    expect((await run(owner.token, { from: new Date(last.occurred_at + 1).toISOString() })).nodes).toEqual([]);
    expect((await run(scopedOne.token, { workspaceId: ws[1] })).nodes).toEqual([]);
    expect((await run(owner.token, { from: at(100), to: at(99) })).nodes).toEqual([]);
  });

  it("refuses a cursor that does not name a sequence", async () => {
    for (const after of [encodeCursor([1.5]), encodeCursor(["12"]), encodeCursor([2 ** 60]), "not a cursor"]) {
      expect(await t.client(owner.token).errorCode(QUERY, { f: null, n: PAGE, a: after })).toBe("BAD_USER_INPUT");
    }
  });

  it("verifyAuditLog over a range reads from the sequence index too", async () => {
    executed.length = 0;
    recording = true;
    try {
      expect((await t.client(owner.token).data("{ verifyAuditLog(fromSequence: 100, toSequence: 200) { valid checkedEvents } }")).verifyAuditLog).toEqual({ valid: true, checkedEvents: 101 });
    } finally {
      recording = false;
    }
    const ran = plans(executed);
    expect(ran.length).toBeGreaterThan(0);
    for (const { sql, plan } of ran) for (const step of plan) expect(step, sql).toMatch(/^SEARCH audit_events USING INDEX audit_org_sequence \(organization_id=\? AND sequence/);
  });
});

describe("occurredAt along a chain", () => {
  it("never goes back when the clock does, so that a time filter finds every event", async () => {
    const before = allRows().at(-1)!;
    const { db } = t.server.database;
    const entry: AuditEntry = { organizationId: t.organizationId, actorKind: null, actorId: null, action: "clockStepBack", outcome: "SUCCESS" };
    t.clock.set(new Date(before.occurred_at - 3_600_000));
    const stepped = db.transaction((tx) => appendAuditEvent(tx, entry, t.clock.now()));
    expect(stepped.occurredAt).toBe(new Date(before.occurred_at).toISOString());
    t.clock.set(new Date(before.occurred_at + 5000));
    db.transaction((tx) => appendAuditEvent(tx, entry, t.clock.now()));
    const page = await run(owner.token, { action: "clockStepBack", from: new Date(before.occurred_at).toISOString() });
    expect(page.nodes.map((n) => n.sequence)).toEqual([before.sequence + 1, before.sequence + 2]);
    expect((await t.client(owner.token).data("{ verifyAuditLog { valid } }")).verifyAuditLog.valid).toBe(true);
  });
});
