// Signed checkpoints through the real server: on demand (GraphQL and the CLI), on the interval,
// only when the head moved, consistent with concurrent appends, readable as the contract's
// permission rules say, and verifiable by an integrator from the API's own values.
import canonicalize from "canonicalize";
import { createPublicKey, verify } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { encodeCursor } from "../../src/modules/common/pagination.js";
import { loadConfig } from "../../src/config.js";
import { runCli } from "../harness/cli.js";
import { seed } from "../harness/factories.js";
import { startServer, TEST_MASTER_KEY, type TestServer } from "../harness/server.js";
import { nextTurn } from "../harness/turn.js";

const CHECKPOINT_FIELDS = "organizationId sequence hash signedAt keyId signature";
const CHECKPOINT = `mutation { checkpointAuditLog { ${CHECKPOINT_FIELDS} } }`;
const LIST = `query($first: Int, $after: String) { auditCheckpoints(first: $first, after: $after) { nodes { ${CHECKPOINT_FIELDS} } pageInfo { hasNextPage endCursor } } }`;
const KEY = "{ auditSigningKey { algorithm keyId publicKey } }";
const CREATE_WS = "mutation($n: String!) { createWorkspace(input: {name: $n}) { id } }";

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
});
afterAll(() => t.stop());

interface Checkpoint {
  organizationId: string;
  sequence: number;
  hash: string;
  signedAt: string;
  keyId: string;
  signature: string;
}

/** The type's description, followed by an integrator with node:crypto and canonicalize alone. */
function integratorVerifies(c: Checkpoint, publicKeyPem: string): boolean {
  const { organizationId, sequence, hash, signedAt, keyId } = c;
  const message = Buffer.from("portcullis:audit-checkpoint:v1\n" + canonicalize({ organizationId, sequence, hash, signedAt, keyId }), "utf8");
  return verify(null, message, createPublicKey(publicKeyPem), Buffer.from(c.signature, "base64"));
}

function eventAt(server: TestServer, organizationId: string, sequence: number) {
  return server.server.database.sqlite.prepare("SELECT hash FROM audit_events WHERE organization_id = ? AND sequence = ?").get(organizationId, sequence) as { hash: string } | undefined;
}

function head(server: TestServer, organizationId: string) {
  return server.server.database.sqlite.prepare("SELECT sequence, hash FROM audit_events WHERE organization_id = ? ORDER BY sequence DESC LIMIT 1").get(organizationId) as {
    sequence: number;
    hash: string;
  };
}

describe("checkpoints on demand", () => {
  it("checkpointAuditLog signs the head, which is the event recording the call, verifiable with auditSigningKey", async () => {
    const owner = t.client(t.ownerKey);
    await owner.data(CREATE_WS, { n: "before checkpoint" });
    const checkpoint = (await owner.data(CHECKPOINT)).checkpointAuditLog as Checkpoint;
    const top = head(t, t.organizationId);
    expect(checkpoint).toMatchObject({ organizationId: t.organizationId, sequence: top.sequence, hash: top.hash });
    const event = (await owner.data(`{ auditEvents(filter: { action: "checkpointAuditLog" }) { nodes { sequence outcome targetId } } }`)).auditEvents.nodes.at(-1);
    expect(event).toEqual({ sequence: checkpoint.sequence, outcome: "SUCCESS", targetId: t.organizationId });

    const key = (await owner.data(KEY)).auditSigningKey;
    expect(key.algorithm).toBe("Ed25519");
    expect(key.publicKey).toMatch(/^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n$/);
    expect(checkpoint.keyId).toBe(key.keyId);
    expect(integratorVerifies(checkpoint, key.publicKey)).toBe(true);
    expect(integratorVerifies({ ...checkpoint, hash: "0".repeat(64) }, key.publicKey)).toBe(false);
    expect(integratorVerifies({ ...checkpoint, organizationId: "org_someoneElse0000000000" }, key.publicKey)).toBe(false);
  });

  it("signs a head only once: nothing new while the chain stands still, a new checkpoint once it moved", async () => {
    const owner = t.client(t.ownerKey);
    await owner.data(CHECKPOINT);
    const count = () => (t.server.database.sqlite.prepare("SELECT count(*) AS n FROM audit_checkpoints WHERE organization_id = ?").get(t.organizationId) as { n: number }).n;
    const before = count();
    expect(t.server.services.auditCheckpoints.signHead(t.organizationId)).toBeNull();
    expect(await t.server.services.auditCheckpoints.signMovedHeads()).toBe(0);
    expect(count()).toBe(before);
    await owner.data(CREATE_WS, { n: "moved" });
    expect(t.server.services.auditCheckpoints.signHead(t.organizationId)).toMatchObject({ sequence: head(t, t.organizationId).sequence });
    expect(count()).toBe(before + 1);
  });

  it("portcullis checkpoint-audit signs from another process, then reports the head unchanged", async () => {
    const owner = t.client(t.ownerKey);
    await owner.data(CREATE_WS, { n: "for the cli" });
    const env = { PORTCULLIS_DATA_DIR: t.dataDir, PORTCULLIS_MASTER_KEYS: TEST_MASTER_KEY };
    const top = head(t, t.organizationId);
    const first = await runCli(["checkpoint-audit", t.organizationId], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe(`${t.organizationId}: signed sequence ${top.sequence}, hash ${top.hash}\n`);
    const again = await runCli(["checkpoint-audit"], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`${t.organizationId}: unchanged since its last checkpoint`);
    const unknown = await runCli(["checkpoint-audit", "org_doesNotExist000000000"], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no organization org_doesNotExist000000000");
    await nextTurn();
    const latest = (await owner.data(LIST, { first: 1 })).auditCheckpoints.nodes[0];
    expect(latest).toMatchObject({ sequence: top.sequence, hash: top.hash });
  });

  it("lists checkpoints newest first, a page at a time", async () => {
    const owner = t.client(t.ownerKey);
    const all = (await owner.data(LIST, { first: 100 })).auditCheckpoints.nodes as Checkpoint[];
    expect(all.length).toBeGreaterThanOrEqual(4);
    const sequences = all.map((c) => c.sequence);
    expect(sequences).toEqual([...sequences].sort((a, b) => b - a));
    const page1 = (await owner.data(LIST, { first: 2 })).auditCheckpoints;
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = (await owner.data(LIST, { first: 2, after: page1.pageInfo.endCursor })).auditCheckpoints;
    expect([...page1.nodes, ...page2.nodes].map((c: Checkpoint) => c.sequence)).toEqual(sequences.slice(0, 4));
    for (const c of all) expect(c.hash).toBe(eventAt(t, t.organizationId, c.sequence)?.hash);
    expect(await owner.errorCode(LIST, { first: 101 })).toBe("BAD_USER_INPUT");
    expect(await owner.errorCode(LIST, { after: "not a cursor" })).toBe("BAD_USER_INPUT");
    // The same rule as auditEvents' cursors: a whole sequence, nothing else.
    for (const after of [encodeCursor([1.5]), encodeCursor(["12"])]) expect(await owner.errorCode(LIST, { after })).toBe("BAD_USER_INPUT");
  });

  it("checkpoints are append-only below the application", () => {
    const db = t.server.database.sqlite;
    expect(() => db.prepare("UPDATE audit_checkpoints SET hash = ? WHERE organization_id = ?").run("0".repeat(64), t.organizationId)).toThrow(/append-only: a checkpoint cannot be changed/);
    expect(() => db.prepare("DELETE FROM audit_checkpoints WHERE organization_id = ?").run(t.organizationId)).toThrow(/append-only: a checkpoint cannot be deleted/);
  });
});

describe("consistency with concurrent appends", () => {
  it("every checkpoint names an event that exists with that hash, while writes, GraphQL and CLI checkpoints race", async () => {
    const owner = t.client(t.ownerKey);
    const env = { PORTCULLIS_DATA_DIR: t.dataDir, PORTCULLIS_MASTER_KEYS: TEST_MASTER_KEY };
    // Two other processes sign while this one goes on appending and checkpointing until both are done.
    let done = 0;
    const clis = [runCli(["checkpoint-audit", t.organizationId], env), runCli(["checkpoint-audit"], env)].map((p) => p.finally(() => done++));
    let round = 0;
    while (done < clis.length) {
      await Promise.all([owner.data(CREATE_WS, { n: `race ${round}` }), owner.data(CREATE_WS, { n: `race ${round} b` }), owner.data(CHECKPOINT)]);
      round++;
    }
    for (const r of await Promise.all(clis)) expect(r.code, r.stderr).toBe(0);
    const rows = t.server.database.sqlite.prepare("SELECT sequence, hash FROM audit_checkpoints WHERE organization_id = ?").all(t.organizationId) as { sequence: number; hash: string }[];
    for (const row of rows) expect(row.hash, `checkpoint at ${row.sequence}`).toBe(eventAt(t, t.organizationId, row.sequence)?.hash);
    expect((await owner.data("{ verifyAuditLog { valid } }")).verifyAuditLog.valid).toBe(true);
  });
});

describe("checkpoints on the interval", () => {
  it("a serving process signs every chain whose head moved, on its own", async () => {
    const fast = await startServer({ env: { PORTCULLIS_AUDIT_CHECKPOINT_INTERVAL_SECONDS: "0.05" } });
    try {
      const other = fast.createOrganization("Second tenant");
      const owner = fast.client(fast.ownerKey);
      await owner.data(CREATE_WS, { n: "interval" });
      // Polls for the rows; how long they take is not what this test is about.
      await vi.waitFor(
        () => {
          for (const org of [fast.organizationId, other.organizationId]) {
            const latest = fast.server.database.sqlite.prepare("SELECT sequence, hash FROM audit_checkpoints WHERE organization_id = ? ORDER BY sequence DESC LIMIT 1").get(org);
            expect(latest).toEqual(head(fast, org));
          }
        },
        { timeout: 10_000, interval: 20 },
      );
      expect(fast.logs.join("")).toMatch(/"msg":"signed audit checkpoints"/);
    } finally {
      await fast.stop();
    }
  });

  it("the interval is an hour by default, and a bad value stops start-up naming the variable", () => {
    expect(loadConfig({}).auditCheckpointIntervalMs).toBe(3_600_000);
    expect(loadConfig({ PORTCULLIS_AUDIT_CHECKPOINT_INTERVAL_SECONDS: "90" }).auditCheckpointIntervalMs).toBe(90_000);
    for (const bad of ["0", "-5", "soon", "86401", ""]) {
      expect(() => loadConfig({ PORTCULLIS_AUDIT_CHECKPOINT_INTERVAL_SECONDS: bad }), bad).toThrow(
        "PORTCULLIS_AUDIT_CHECKPOINT_INTERVAL_SECONDS: must be a number of seconds, more than 0 and at most 86400",
      );
    }
  });
});

describe("who may read and make checkpoints", () => {
  it("needs AUDIT_READ organization-wide: owner, admin and manager; never member, viewer, or a workspace binding", async () => {
    const s = seed(t);
    const ws = s.workspace();
    const owner = t.client(t.ownerKey);
    const signingKey = (await owner.data(KEY)).auditSigningKey;
    for (const role of ["owner", "admin", "manager"] as const) {
      const c = t.client(s.apiKey(role).token);
      expect((await c.data(KEY)).auditSigningKey, role).toEqual(signingKey);
      expect((await c.data(LIST, { first: 1 })).auditCheckpoints.nodes[0].organizationId, role).toBe(t.organizationId);
      expect((await c.data(CHECKPOINT)).checkpointAuditLog.organizationId, role).toBe(t.organizationId);
    }
    const refused = [
      ...(["member", "viewer"] as const).map((role) => ({ label: role, token: s.apiKey(role).token })),
      ...(["owner", "admin", "manager"] as const).map((role) => ({ label: `${role} in one workspace`, token: s.apiKey(role, ws).token })),
    ];
    const checkpointsBefore = (await owner.data(LIST, { first: 100 })).auditCheckpoints.nodes.length;
    for (const { label, token } of refused) {
      const c = t.client(token);
      for (const doc of [KEY, LIST, CHECKPOINT]) {
        const res = await c.query(doc);
        expect(res.body.errors?.[0]?.extensions.code, `${label}: ${doc}`).toBe("FORBIDDEN");
        expect(res.body.data ?? null, label).toBeNull();
      }
    }
    expect((await owner.data(LIST, { first: 100 })).auditCheckpoints.nodes.length).toBe(checkpointsBefore);
    const denied = (await owner.data(`{ auditEvents(filter: { action: "checkpointAuditLog", outcome: DENIED }, first: 100) { nodes { actorId } } }`)).auditEvents.nodes;
    expect(denied).toHaveLength(refused.length);
  });

  it("each organization sees and makes only its own checkpoints, whatever cursor it sends", async () => {
    const other = t.createOrganization("Checkpoint tenant");
    const a = t.client(t.ownerKey);
    const b = t.client(other.ownerKey);
    const bCheckpoint = (await b.data(CHECKPOINT)).checkpointAuditLog as Checkpoint;
    expect(bCheckpoint.organizationId).toBe(other.organizationId);
    expect(bCheckpoint.hash).toBe(head(t, other.organizationId).hash);
    const bList = (await b.data(LIST, { first: 100 })).auditCheckpoints.nodes as Checkpoint[];
    expect(bList.map((c) => c.organizationId)).toEqual([other.organizationId]);
    const aPage = (await a.data(LIST, { first: 1 })).auditCheckpoints;
    const bWithACursor = (await b.data(LIST, { first: 100, after: aPage.pageInfo.endCursor })).auditCheckpoints.nodes as Checkpoint[];
    expect(bWithACursor.every((c) => c.organizationId === other.organizationId)).toBe(true);
    const aList = (await a.data(LIST, { first: 100 })).auditCheckpoints.nodes as Checkpoint[];
    expect(aList.some((c) => c.organizationId !== t.organizationId)).toBe(false);
    // One server key signs for every organization: the statement names the organization.
    expect((await b.data(KEY)).auditSigningKey).toEqual((await a.data(KEY)).auditSigningKey);
  });
});
