// Someone with write access to the database file, but not the master key, moves, cuts or
// alters ciphertexts and endpoints: opening fails with a clear error, never silently.
import type Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyRing, MasterKeyMismatchError, MissingMasterKeyError } from "../../src/crypto/key-ring.js";
import { openDatabase } from "../../src/db/client.js";
import { KeyStore } from "../../src/modules/master-keys/key-store.js";
import { ChangeMark } from "../../src/db/change-mark.js";
import { SecretBox, SecretUnavailableError } from "../../src/modules/virtual-keys/secret-box.js";
import { fakeDns } from "../harness/loopback.js";
import { startServer, type TestServer } from "../harness/server.js";
import { canary, CREATE_VK, openRaw } from "./helpers.js";
import { nextTurn } from "../harness/turn.js";

const dns = fakeDns({ "llm.example.com": ["93.184.216.34"], "attacker.example.net": ["198.51.100.7"] });
let t: TestServer;
let raw: Database.Database;
const keys: Record<string, { id: string; secret: string; organizationId: string }> = {};

async function create(name: string, input: Record<string, unknown>, token = t.ownerKey, organizationId = t.organizationId) {
  const secret = canary(name);
  const vk = (await t.client(token).data(CREATE_VK, { input: { name, secret, ...input } })).createVirtualKey;
  keys[name] = { id: vk.id, secret, organizationId };
}

beforeAll(async () => {
  t = await startServer({ resolver: dns.resolver });
  await create("a", { provider: "OPENAI" });
  await create("b", { provider: "OPENAI" });
  await create("compat", { provider: "OPENAI_COMPATIBLE", baseUrl: "https://llm.example.com/v1" });
  await create("azure", { provider: "AZURE_OPENAI", providerOptions: { resourceName: "contoso", deploymentId: "gpt-4o", apiVersion: "2024-10-21" } });
  const other = t.createOrganization("Tenant C");
  await create("c", { provider: "OPENAI" }, other.ownerKey, other.organizationId);
  raw = openRaw(t);
});
afterAll(async () => {
  raw?.close();
  await t.stop();
});

const open = (name: string, box = t.server.services.secrets) => box.openSecret(keys[name].organizationId, keys[name].id, (s) => s.secret);
const sealed = (name: string) => (raw.prepare("SELECT sealed_secret AS s FROM virtual_keys WHERE id = ?").get(keys[name].id) as { s: Buffer }).s;
const setColumn = (name: string, column: string, value: unknown) => raw.prepare(`UPDATE virtual_keys SET ${column} = ? WHERE id = ?`).run(value, keys[name].id);

/** Applies a change to a row, expects opening to fail clearly, then restores the row. */
async function expectTamperFails(name: string, column: string, value: unknown, message: RegExp) {
  const original = raw.prepare(`SELECT ${column} AS v FROM virtual_keys WHERE id = ?`).get(keys[name].id) as { v: unknown };
  setColumn(name, column, value);
  await nextTurn();
  try {
    const err = await open(name).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err, `${column} changed, yet the secret opened`).toBeInstanceOf(SecretUnavailableError);
    expect(err!.message).toContain(keys[name].id);
    expect(err!.message).toMatch(message);
    expect(err!.message).not.toContain(keys[name].secret);
  } finally {
    setColumn(name, column, original.v);
  }
  await nextTurn();
  expect(await open(name)).toBe(keys[name].secret);
}

function flip(buf: Buffer, index: number): Buffer {
  const copy = Buffer.from(buf);
  copy[index] ^= 0x01;
  return copy;
}

const TAG_MISMATCH = /authentication tag mismatch/;

describe("tampering with stored secrets", () => {
  it("opens every untouched secret", async () => {
    for (const name of Object.keys(keys)) expect(await open(name)).toBe(keys[name].secret);
  });

  it("refuses a ciphertext moved to another row, in the same organization or another", async () => {
    await expectTamperFails("b", "sealed_secret", sealed("a"), TAG_MISMATCH);
    await expectTamperFails("a", "sealed_secret", sealed("b"), TAG_MISMATCH);
    await expectTamperFails("a", "sealed_secret", sealed("c"), TAG_MISMATCH);
  });

  it("refuses a truncated tag or ciphertext", async () => {
    const s = sealed("a");
    const tagCut = Buffer.concat([s.subarray(0, 1 + 12 + 12), s.subarray(1 + 12 + 16)]);
    await expectTamperFails("a", "sealed_secret", tagCut, TAG_MISMATCH);
    for (const cut of [1, 4, 16]) await expectTamperFails("a", "sealed_secret", s.subarray(0, s.length - cut), TAG_MISMATCH);
    await expectTamperFails("a", "sealed_secret", s.subarray(0, 1 + 12 + 8), /envelope too short/);
    await expectTamperFails("a", "sealed_secret", Buffer.alloc(0), /envelope too short/);
  });

  it("refuses a flipped bit anywhere: version, nonce, tag, ciphertext", async () => {
    const s = sealed("a");
    await expectTamperFails("a", "sealed_secret", flip(s, 0), /unknown envelope version/);
    for (const index of [1, 12, 13, 28, 29, s.length - 1]) await expectTamperFails("a", "sealed_secret", flip(s, index), TAG_MISMATCH);
  });

  it("refuses when the endpoint, version or provider changed underneath the secret", async () => {
    await expectTamperFails("compat", "base_url", "https://attacker.example.net/v1", TAG_MISMATCH);
    await expectTamperFails("compat", "base_url", null, TAG_MISMATCH);
    await expectTamperFails("a", "base_url", "https://attacker.example.net", TAG_MISMATCH);
    await expectTamperFails("azure", "provider_options", JSON.stringify({ resourceName: "attacker", deploymentId: "gpt-4o", apiVersion: "2024-10-21" }), TAG_MISMATCH);
    await expectTamperFails("a", "secret_version", 2, TAG_MISMATCH);
    await expectTamperFails("a", "provider", "OPENAI_COMPATIBLE", TAG_MISMATCH);
  });

  it("binds only the host-picking options: a new Azure deployment on the same host still opens", async () => {
    setColumn("azure", "provider_options", JSON.stringify({ resourceName: "contoso", deploymentId: "gpt-4o-mini", apiVersion: "2024-10-21" }));
    expect(await open("azure")).toBe(keys.azure.secret);
  });
});

describe("master keys and data keys", () => {
  let box: (keyRing: KeyRing) => { box: SecretBox; close: () => void };

  beforeAll(async () => {
    raw.close();
    await t.close();
    box = (keyRing) => {
      const database = openDatabase(t.dataDir);
      return { box: new SecretBox(database.db, new KeyStore(database.db, keyRing), new ChangeMark(database.sqlite)), close: () => database.sqlite.close() };
    };
  });

  it("opens with the right master key", async () => {
    const ok = box(new KeyRing([{ version: 1, key: Buffer.alloc(32, 7) }]));
    try {
      expect(await open("a", ok.box)).toBe(keys.a.secret);
    } finally {
      ok.close();
    }
  });

  it("refuses a wrong master key, naming its version", async () => {
    const wrong = box(new KeyRing([{ version: 1, key: Buffer.alloc(32, 8) }]));
    try {
      const err = await open("a", wrong.box).catch((e: Error) => e);
      expect(err).toBeInstanceOf(MasterKeyMismatchError);
      expect((err as Error).message).toMatch(/Master key version 1 does not open dek:org_/);
    } finally {
      wrong.close();
    }
    await expect(startServer({ dataDir: t.dataDir, env: { PORTCULLIS_MASTER_KEYS: "1:" + Buffer.alloc(32, 8).toString("base64") } })).rejects.toThrow(
      /Master key version 1 does not open/,
    );
  });

  it("refuses a missing master key version, naming it", async () => {
    const newer = box(new KeyRing([{ version: 2, key: Buffer.alloc(32, 9) }]));
    try {
      const err = await open("a", newer.box).catch((e: Error) => e);
      expect(err).toBeInstanceOf(MissingMasterKeyError);
      expect((err as Error).message).toMatch(/Master key version 1 is not configured/);
    } finally {
      newer.close();
    }
  });

  it("refuses an altered wrapped data key", async () => {
    const database = openDatabase(t.dataDir);
    const row = database.sqlite.prepare("SELECT wrapped FROM data_keys WHERE organization_id = ?").get(t.organizationId) as { wrapped: Buffer };
    database.sqlite.prepare("UPDATE data_keys SET wrapped = ? WHERE organization_id = ?").run(flip(row.wrapped, 20), t.organizationId);
    database.sqlite.close();
    const altered = box(new KeyRing([{ version: 1, key: Buffer.alloc(32, 7) }]));
    try {
      await expect(open("a", altered.box)).rejects.toThrow(/Master key version 1 does not open dek:.*or the stored key was altered/);
      expect(await open("c", altered.box)).toBe(keys.c.secret);
    } finally {
      altered.close();
    }
  });
});
