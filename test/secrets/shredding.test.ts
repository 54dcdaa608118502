// Crypto-shredding: deleting an organization destroys its data key with everything it owns;
// deleting a virtual key removes its ciphertext, from the database file and its log.
import type Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../harness/cli.js";
import { seed } from "../harness/factories.js";
import { fakeDns } from "../harness/loopback.js";
import { startServer, TEST_MASTER_KEY, type TestServer } from "../harness/server.js";
import { canary, CREATE_VK, DELETE_VK, findInDatabaseFiles, insertPolicy, insertRoute, openRaw } from "./helpers.js";

const dns = fakeDns({ "llm.example.com": ["93.184.216.34"] });
let t: TestServer;
let doomed: { organizationId: string; ownerKey: string };
let wrappedDataKey: Buffer;
let doomedCiphertexts: Buffer[];
let survivor: { id: string; secret: string };
const cliEnv = () => ({ PORTCULLIS_DATA_DIR: t.dataDir, PORTCULLIS_MASTER_KEYS: TEST_MASTER_KEY });

beforeAll(async () => {
  t = await startServer({ resolver: dns.resolver });
  const secret = canary("survivor");
  survivor = { id: (await t.client(t.ownerKey).data(CREATE_VK, { input: { name: "survivor", provider: "OPENAI", secret } })).createVirtualKey.id, secret };

  doomed = t.createOrganization("Doomed tenant");
  const s = seed(t, doomed.organizationId);
  const ws = s.workspace("doomed-ws");
  s.apiKey("manager", ws);
  const client = t.client(doomed.ownerKey);
  const policyId = insertPolicy(t, "doomed policy", null, doomed.organizationId);
  const ids: string[] = [];
  for (const [name, workspaceId] of [["org key", null], ["ws key", ws]] as const) {
    ids.push((await client.data(CREATE_VK, { input: { name, provider: "OPENAI_COMPATIBLE", baseUrl: "https://llm.example.com", secret: canary("doomed"), workspaceId, policyIds: [policyId] } })).createVirtualKey.id);
  }
  insertRoute(t, ids[0], doomed.organizationId);
  const raw = openRaw(t);
  wrappedDataKey = (raw.prepare("SELECT wrapped FROM data_keys WHERE organization_id = ?").get(doomed.organizationId) as { wrapped: Buffer }).wrapped;
  doomedCiphertexts = ids.map((id) => (raw.prepare("SELECT sealed_secret AS s FROM virtual_keys WHERE id = ?").get(id) as { s: Buffer }).s);
  raw.close();
});
afterAll(() => t.stop());

/** Tables that hold an organization_id, and how many rows each holds for it. */
function rowsOwnedBy(raw: Database.Database, organizationId: string): Record<string, number> {
  const tables = (raw.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__drizzle%'").all() as { name: string }[]).map((r) => r.name);
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const columns = (raw.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
    if (columns.includes("organization_id")) counts[table] = (raw.prepare(`SELECT count(*) AS n FROM ${table} WHERE organization_id = ?`).get(organizationId) as { n: number }).n;
  }
  return counts;
}

describe("deleting a virtual key", () => {
  it("removes its ciphertext from the database and its write-ahead log", async () => {
    const vk = (await t.client(t.ownerKey).data(CREATE_VK, { input: { name: "short-lived", provider: "OPENAI", secret: canary("short-lived") } })).createVirtualKey;
    const raw = openRaw(t);
    const ciphertext = (raw.prepare("SELECT sealed_secret AS s FROM virtual_keys WHERE id = ?").get(vk.id) as { s: Buffer }).s;
    raw.close();
    expect(findInDatabaseFiles(t.dataDir, [ciphertext]).length).toBeGreaterThan(0);
    await t.client(t.ownerKey).data(DELETE_VK, { id: vk.id });
    expect(findInDatabaseFiles(t.dataDir, [ciphertext])).toEqual([]);
  });
});

describe("portcullis delete-organization", () => {
  beforeAll(() => t.close());

  it("asks for confirmation: without a terminal it needs --yes and deletes nothing", async () => {
    const res = await runCli(["delete-organization", doomed.organizationId], cliEnv());
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("pass --yes when not at a terminal");
    const raw = openRaw(t);
    expect(rowsOwnedBy(raw, doomed.organizationId).data_keys).toBe(1);
    raw.close();
  });

  it("with --yes destroys the data key and every row the organization owns, leaving no bytes behind", async () => {
    expect(findInDatabaseFiles(t.dataDir, [wrappedDataKey, ...doomedCiphertexts]).length).toBeGreaterThan(0);
    const res = await runCli(["delete-organization", doomed.organizationId, "--yes"], cliEnv());
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(`Deleted organization ${doomed.organizationId}; its data key is destroyed.`);
    // The log line goes to stderr: stdout holds only what the command prints.
    expect(res.stderr).toContain("organization deleted and its data key destroyed");

    const raw = openRaw(t);
    const owned = rowsOwnedBy(raw, doomed.organizationId);
    expect(Object.keys(owned)).toEqual(expect.arrayContaining(["data_keys", "virtual_keys", "api_keys", "audit_events", "workspaces", "roles", "role_bindings", "policies", "routes"]));
    expect(Object.values(owned).every((n) => n === 0), JSON.stringify(owned)).toBe(true);
    expect((raw.prepare("SELECT count(*) AS n FROM api_key_secrets WHERE api_key_id NOT IN (SELECT id FROM api_keys)").get() as { n: number }).n).toBe(0);
    expect((raw.prepare("SELECT count(*) AS n FROM route_targets WHERE route_id NOT IN (SELECT id FROM routes)").get() as { n: number }).n).toBe(0);
    expect(rowsOwnedBy(raw, t.organizationId).data_keys).toBe(1);
    raw.close();
    expect(findInDatabaseFiles(t.dataDir, [wrappedDataKey, ...doomedCiphertexts])).toEqual([]);
  });

  it("leaves the other organizations working", async () => {
    const again = await startServer({ dataDir: t.dataDir, resolver: dns.resolver });
    try {
      expect(await again.server.services.secrets.openSecret(t.organizationId, survivor.id, (s) => s.secret)).toBe(survivor.secret);
      expect(await again.client(t.ownerKey).data(`{ viewer { kind } }`)).toEqual({ viewer: { kind: "API_KEY" } });
      expect((await again.client(doomed.ownerKey).query(`{ viewer { kind } }`)).status).toBe(401);
    } finally {
      await again.close();
    }
  });
});
