// Master key rotation, over HTTP for one organization and with the CLI for all of them and
// the pepper; afterwards the old master key is removed and everything still opens.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { masterKey, runCli } from "../harness/cli.js";
import { seed } from "../harness/factories.js";
import { startServer, type TestServer } from "../harness/server.js";
import { canary, CREATE_VK } from "./helpers.js";

const ROTATE = `mutation { rotateMasterKey { activeVersion rewrappedDataKeys } }`;
const dataDir = mkdtempSync(join(tmpdir(), "portcullis-rotation-"));
const env = (...versions: number[]) => ({ PORTCULLIS_MASTER_KEYS: versions.map(masterKey).join(",") });

let ownerKey: string;
const tenants: { organizationId: string; ownerKey: string; virtualKeyId: string; secret: string }[] = [];

async function withServer<T>(versions: number[], fn: (t: TestServer) => Promise<T>): Promise<T> {
  const t = await startServer({ dataDir, env: env(...versions) });
  try {
    return await fn(t);
  } finally {
    await t.close();
  }
}

function kekVersions(t: TestServer) {
  const { sqlite } = t.server.database;
  return {
    dataKeys: Object.fromEntries((sqlite.prepare("SELECT organization_id AS o, kek_version AS v FROM data_keys").all() as { o: string; v: number }[]).map((r) => [r.o, r.v])),
    pepper: (sqlite.prepare("SELECT kek_version AS v FROM server_secrets WHERE name = 'api_key_pepper'").get() as { v: number }).v,
    signingKey: (sqlite.prepare("SELECT kek_version AS v FROM server_secrets WHERE name = 'audit_signing_key'").get() as { v: number }).v,
  };
}

async function expectEverythingOpens(t: TestServer) {
  for (const tenant of tenants) {
    expect(await t.server.services.secrets.openSecret(tenant.organizationId, tenant.virtualKeyId, (s) => s.secret)).toBe(tenant.secret);
    expect((await t.client(tenant.ownerKey).data(`{ viewer { organization { id } } }`)).viewer.organization.id).toBe(tenant.organizationId);
  }
}

beforeAll(async () => {
  await withServer([1], async (t) => {
    ownerKey = t.ownerKey;
    const other = t.createOrganization("Second tenant");
    for (const [organizationId, key] of [[t.organizationId, t.ownerKey], [other.organizationId, other.ownerKey]]) {
      const secret = canary("rotation");
      const vk = (await t.client(key).data(CREATE_VK, { input: { name: "provider", provider: "ANTHROPIC", secret } })).createVirtualKey;
      tenants.push({ organizationId, ownerKey: key, virtualKeyId: vk.id, secret });
    }
    expect(kekVersions(t)).toEqual({ dataKeys: { [tenants[0].organizationId]: 1, [tenants[1].organizationId]: 1 }, pepper: 1, signingKey: 1 });
  });
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe("master key rotation", () => {
  it("rotateMasterKey re-wraps the caller's organization only, and needs MASTER_KEY_ROTATE organization-wide", async () => {
    await withServer([1, 2], async (t) => {
      for (const role of ["admin", "manager", "member"] as const) {
        expect(await t.client(seed(t).apiKey(role).token).errorCode(ROTATE)).toBe("FORBIDDEN");
      }
      expect((await t.client(ownerKey).data(ROTATE)).rotateMasterKey).toEqual({ activeVersion: 2, rewrappedDataKeys: 1 });
      expect((await t.client(ownerKey).data(ROTATE)).rotateMasterKey).toEqual({ activeVersion: 2, rewrappedDataKeys: 0 });
      expect(kekVersions(t)).toEqual({ dataKeys: { [tenants[0].organizationId]: 2, [tenants[1].organizationId]: 1 }, pepper: 1, signingKey: 1 });
      const events = (await t.client(ownerKey).data(`{ auditEvents(filter: { action: "rotateMasterKey" }, first: 10) { nodes { outcome targetId details } } }`)).auditEvents.nodes;
      expect(events.map((e: { outcome: string }) => e.outcome)).toEqual(["DENIED", "DENIED", "DENIED", "SUCCESS", "SUCCESS"]);
      expect(events[3]).toMatchObject({ targetId: tenants[0].organizationId, details: { activeVersion: 2, rewrappedDataKeys: 1 } });
      await expectEverythingOpens(t);
    });
  });

  it("refuses to start while a version still in use is missing, and names it", async () => {
    await expect(startServer({ dataDir, env: env(2) })).rejects.toThrow(/Master key version 1 is not configured/);
    const cli = await runCli(["rotate-master-key"], { PORTCULLIS_DATA_DIR: dataDir, ...env(2, 3) });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/Master key version 1 is not configured/);
    expect(cli.stderr).not.toContain(masterKey(2).split(":")[1]);
  });

  it("the CLI re-wraps every data key and the pepper in one go, with progress", async () => {
    const cli = await runCli(["rotate-master-key"], { PORTCULLIS_DATA_DIR: dataDir, ...env(1, 2, 3) });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stderr).toContain("re-wrapped 2/2 organization data keys");
    expect(cli.stdout).toContain("Master key version 3 is active: re-wrapped 2 data key(s), the API key pepper and the audit signing key.");
    for (const version of [1, 2, 3]) expect(cli.stdout + cli.stderr).not.toContain(masterKey(version).split(":")[1]);
  });

  it("after the CLI rotation the old master keys can go: secrets open and API keys authenticate", async () => {
    await withServer([3], async (t) => {
      expect(kekVersions(t)).toEqual({ dataKeys: { [tenants[0].organizationId]: 3, [tenants[1].organizationId]: 3 }, pepper: 3, signingKey: 3 });
      await expectEverythingOpens(t);
      expect((await t.client(ownerKey).data(ROTATE)).rotateMasterKey).toEqual({ activeVersion: 3, rewrappedDataKeys: 0 });
      const cliEvents = (await t.client(ownerKey).data(`{ auditEvents(filter: { action: "rotateMasterKey", outcome: SUCCESS }, first: 10) { nodes { actorId details } } }`)).auditEvents.nodes;
      expect(cliEvents).toContainEqual({ actorId: null, details: { activeVersion: 3, via: "cli" } });
    });
  });

  it("the CLI creates no organization on a new data directory (its owner key would be lost)", async () => {
    const fresh = mkdtempSync(join(tmpdir(), "portcullis-fresh-"));
    try {
      const res = await runCli(["rotate-master-key"], { PORTCULLIS_DATA_DIR: fresh, ...env(1) });
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toContain("re-wrapped 0 data key(s)");
      const t = await startServer({ dataDir: fresh, env: env(1) });
      try {
        // The first real start still bootstraps and shows its owner key.
        expect(t.server.bootstrap?.ownerApiKey).toBeDefined();
      } finally {
        await t.close();
      }
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });
});
