// Virtual keys over HTTP: the happy path, validation, permissions, tenancy and audit.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { policyAttachments, virtualKeys } from "../../src/db/schema.js";
import { secretHint } from "../../src/modules/virtual-keys/virtual-key.service.js";
import { seed } from "../harness/factories.js";
import { fakeDns } from "../harness/loopback.js";
import { startServer, type TestServer } from "../harness/server.js";
import { canary, CREATE_VK, customKey, DELETE_VK, insertPolicy, insertRoute, LIST_VK, NODE, ROTATE_VK, UPDATE_VK } from "./helpers.js";

const dns = fakeDns({ "llm.example.com": ["93.184.216.34"], "other.example.com": ["2606:4700::6810:84e5"] });
let t: TestServer;
beforeAll(async () => {
  t = await startServer({ resolver: dns.resolver });
});
afterAll(() => t.stop());

const owner = () => t.client(t.ownerKey);

async function create(input: Record<string, unknown>, token = t.ownerKey) {
  return (await t.client(token).data(CREATE_VK, { input: { name: "OpenAI prod", provider: "OPENAI", secret: canary(), ...input } })).createVirtualKey;
}

async function auditFor(targetId: string) {
  const data = await owner().data(`query($f: AuditFilter) { auditEvents(filter: $f, first: 10) { nodes { action outcome targetKind targetId workspaceId details } } }`, { f: { targetId } });
  return data.auditEvents.nodes as { action: string; outcome: string; targetKind: string; workspaceId: string | null; details: Record<string, unknown> }[];
}

function open(id: string, organizationId = t.organizationId) {
  return t.server.services.secrets.openSecret(organizationId, id, (s) => s);
}

describe("virtual keys: happy path", () => {
  it("creates a key: masked hint, version 1, sealed in the database, opened only by the secret box", async () => {
    const secret = "sk-proj-" + "a".repeat(40) + "3xYz";
    const vk = await create({ name: "OpenAI prod", secret });
    expect(vk).toMatchObject({ name: "OpenAI prod", slug: "openai-prod", provider: "OPENAI", baseUrl: null, providerOptions: null, secretHint: "sk-...3xYz", secretVersion: 1, workspace: null, policies: [], lastUsedAt: null });
    expect(vk.id).toMatch(/^vk_/);

    const row = t.server.database.db.select().from(virtualKeys).where(eq(virtualKeys.id, vk.id)).get()!;
    expect(row.sealedSecret[0]).toBe(0x01);
    expect(row.sealedSecret.length).toBe(1 + 12 + 16 + Buffer.byteLength(secret));
    expect(row.sealedSecret.includes(Buffer.from(secret))).toBe(false);

    const opened = await open(vk.id);
    expect(opened).toMatchObject({ secret, secretVersion: 1, virtualKeyId: vk.id, endpoint: { provider: "OPENAI", baseUrl: null, providerOptions: null } });

    const [event] = await auditFor(vk.id);
    expect(event).toMatchObject({ action: "createVirtualKey", outcome: "SUCCESS", targetKind: "VirtualKey", workspaceId: null });
    expect(event.details).toMatchObject({ name: "OpenAI prod", slug: "openai-prod", provider: "OPENAI", version: 1 });
    expect(JSON.stringify(event)).not.toContain(secret.slice(8));
  });

  it("shows at most the last four characters, and fewer for short secrets", () => {
    expect(secretHint("sk-" + "x".repeat(44) + "3xYz")).toBe("sk-...3xYz");
    expect(secretHint("AIzaSyA" + "b".repeat(28) + "WXYZ")).toBe("...WXYZ");
    expect(secretHint("0123456789abcdefgh")).toBe("...gh");
    expect(secretHint("sk-short12345")).toBe("...");
    expect(secretHint("abc")).toBe("...");
  });

  it("validates provider options per provider, and requires baseUrl for OPENAI_COMPATIBLE", async () => {
    const azure = await create({
      name: "Azure",
      provider: "AZURE_OPENAI",
      providerOptions: { resourceName: "contoso-east", deploymentId: "gpt-4o", apiVersion: "2024-10-21" },
    });
    expect(azure.providerOptions).toEqual({ resourceName: "contoso-east", deploymentId: "gpt-4o", apiVersion: "2024-10-21" });

    const input = (over: Record<string, unknown>) => ({ input: { name: "bad", provider: "AZURE_OPENAI", secret: canary(), ...over } });
    const refused = async (over: Record<string, unknown>) => {
      const res = await owner().query(CREATE_VK, input(over));
      expect(res.body.errors?.[0].extensions.code, res.text).toBe("BAD_USER_INPUT");
      return res.body.errors![0].message;
    };
    expect(await refused({ providerOptions: { resourceName: "contoso", deploymentId: "d" } })).toMatch(/apiVersion/);
    expect(await refused({ providerOptions: null })).toMatch(/resourceName|missing/);
    expect(await refused({ providerOptions: { resourceName: "evil.com/x", deploymentId: "d", apiVersion: "2024-10-21" } })).toMatch(/resourceName/);
    const unknownKey = await refused({ providerOptions: { resourceName: "c", deploymentId: "d", apiVersion: "2024-10-21", hunter2Key: "x" } });
    expect(unknownKey).toMatch(/accepts only resourceName, deploymentId, apiVersion/);
    expect(unknownKey).not.toContain("hunter2");
    expect(await refused({ provider: "ANTHROPIC", providerOptions: { region: "us" } })).toMatch(/ANTHROPIC takes no options/);
    expect(await refused({ provider: "OPENAI", providerOptions: { organization: "org-1", extra: "x" } })).toMatch(/accepts only organization, project/);
    expect(await refused({ provider: "OPENAI", providerOptions: ["x"] })).toMatch(/JSON object/);
    expect(await refused({ provider: "OPENAI_COMPATIBLE" })).toMatch(/baseUrl is required/);

    const openai = await create({ name: "OpenAI org", provider: "OPENAI", providerOptions: { organization: "org-123", project: "proj_9" } });
    expect(openai.providerOptions).toEqual({ organization: "org-123", project: "proj_9" });
    const compatible = await create({ name: "Compatible", provider: "OPENAI_COMPATIBLE", baseUrl: "https://LLM.example.com:443/v1/" });
    expect(compatible.baseUrl).toBe("https://llm.example.com/v1");
    expect((await open(compatible.id)).endpoint.baseUrl).toBe("https://llm.example.com/v1");
  });

  it("updates the name only; null leaves it; the input has no endpoint fields", async () => {
    const vk = await create({ name: "Renamable" });
    t.clock.advance(1000);
    const renamed = (await owner().data(UPDATE_VK, { input: { id: vk.id, name: "Renamed" } })).updateVirtualKey;
    expect(renamed).toMatchObject({ name: "Renamed", slug: vk.slug, secretVersion: 1, secretHint: vk.secretHint });
    expect(new Date(renamed.updatedAt).getTime()).toBeGreaterThan(new Date(vk.updatedAt).getTime());
    const same = (await owner().data(UPDATE_VK, { input: { id: vk.id, name: null } })).updateVirtualKey;
    expect(same.name).toBe("Renamed");
    const res = await owner().query(`mutation { updateVirtualKey(input: { id: "${vk.id}", baseUrl: "https://attacker.example" }) { id } }`);
    expect(res.body.errors?.[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect((await auditFor(vk.id)).map((e) => e.action)).toEqual(["createVirtualKey", "updateVirtualKey", "updateVirtualKey"]);
  });

  it("rotates the secret: the version increases, the endpoint stays unless given, and only the new secret opens", async () => {
    const vk = await create({ name: "Rotating", provider: "OPENAI_COMPATIBLE", baseUrl: "https://llm.example.com/v1" });
    const second = "sk-second-" + "q".repeat(30) + "ABCD";
    const r1 = (await owner().data(ROTATE_VK, { id: vk.id, secret: second })).rotateVirtualKeySecret;
    expect(r1).toMatchObject({ secretVersion: 2, secretHint: "sk-...ABCD", baseUrl: "https://llm.example.com/v1" });
    expect(await open(vk.id)).toMatchObject({ secret: second, secretVersion: 2 });

    const third = "sk-third-" + "z".repeat(30) + "EFGH";
    const r2 = (await owner().data(ROTATE_VK, { id: vk.id, secret: third, baseUrl: "https://other.example.com/openai" })).rotateVirtualKeySecret;
    expect(r2).toMatchObject({ secretVersion: 3, baseUrl: "https://other.example.com/openai" });
    expect(await open(vk.id)).toMatchObject({ secret: third, secretVersion: 3, endpoint: { baseUrl: "https://other.example.com/openai" } });

    const events = await auditFor(vk.id);
    expect(events.map((e) => e.action)).toEqual(["createVirtualKey", "rotateVirtualKeySecret", "rotateVirtualKeySecret"]);
    expect(events[1].details).toMatchObject({ version: 2, endpointChanged: false });
    expect(events[2].details).toMatchObject({ version: 3, endpointChanged: true, baseUrl: "https://other.example.com/openai" });
    expect(JSON.stringify(events)).not.toMatch(/qqqqqq|zzzzzz/);
  });

  it("rotates an Azure key's options with its secret, validated for the provider", async () => {
    const vk = await create({ name: "Azure rotating", provider: "AZURE_OPENAI", providerOptions: { resourceName: "west", deploymentId: "d1", apiVersion: "2024-10-21" } });
    const rotated = (await owner().data(ROTATE_VK, { id: vk.id, secret: canary(), providerOptions: { resourceName: "east", deploymentId: "d2", apiVersion: "2024-10-21" } })).rotateVirtualKeySecret;
    expect(rotated.providerOptions).toEqual({ resourceName: "east", deploymentId: "d2", apiVersion: "2024-10-21" });
    const res = await owner().query(ROTATE_VK, { id: vk.id, secret: canary(), providerOptions: { resourceName: "east" } });
    expect(res.body.errors?.[0].extensions.code).toBe("BAD_USER_INPUT");
    expect((await open(vk.id)).secretVersion).toBe(2);
  });

  it("deletes a key: CONFLICT while a route targets it; then the row, its ciphertext and attachments are gone", async () => {
    const policyId = insertPolicy(t, "attached");
    const vk = await create({ name: "Doomed", policyIds: [policyId] });
    expect(vk.policies).toEqual([{ id: policyId, name: "attached" }]);
    const routeId = insertRoute(t, vk.id);
    const res = await owner().query(DELETE_VK, { id: vk.id });
    expect(res.body.errors?.[0].extensions.code, res.text).toBe("CONFLICT");
    const { db, sqlite } = t.server.database;
    sqlite.prepare("DELETE FROM routes WHERE id = ?").run(routeId);
    expect((await owner().data(DELETE_VK, { id: vk.id })).deleteVirtualKey).toEqual({ deletedId: vk.id });
    expect(db.select().from(virtualKeys).where(eq(virtualKeys.id, vk.id)).get()).toBeUndefined();
    expect(db.select().from(policyAttachments).where(eq(policyAttachments.targetId, vk.id)).all()).toEqual([]);
    expect(await owner().errorCode(NODE, { id: vk.id })).toBe("NOT_FOUND");
    await expect(open(vk.id)).rejects.toThrow(/no such virtual key/);
    expect((await auditFor(vk.id)).map((e) => `${e.action}:${e.outcome}`)).toEqual(["createVirtualKey:SUCCESS", "deleteVirtualKey:FAILURE", "deleteVirtualKey:SUCCESS"]);
  });

  it("makes slugs from names, refuses bad and duplicate ones, and lets another organization reuse them", async () => {
    const vk = await create({ name: "Ünïcode   Name!" });
    expect(vk.slug).toBe("unicode-name");
    const explicit = await create({ name: "x", slug: "my-key-1" });
    expect(explicit.slug).toBe("my-key-1");
    expect(await owner().errorCode(CREATE_VK, { input: { name: "y", slug: "my-key-1", provider: "OPENAI", secret: canary() } })).toBe("CONFLICT");
    expect(await owner().errorCode(CREATE_VK, { input: { name: "y", slug: "Bad Slug", provider: "OPENAI", secret: canary() } })).toBe("BAD_USER_INPUT");
    expect(await owner().errorCode(CREATE_VK, { input: { name: "!!!", provider: "OPENAI", secret: canary() } })).toBe("BAD_USER_INPUT");
    const other = t.createOrganization("Slug reuse");
    expect((await create({ name: "x", slug: "my-key-1" }, other.ownerKey)).slug).toBe("my-key-1");
  });

  it("bounds secrets and never echoes them in errors", async () => {
    const cases = [canary("long").padEnd(8193, "x"), `${canary("newline")}\nX-Injected: 1`, "   ", `${canary("nul")}\u0000`];
    for (const secret of cases) {
      const res = await owner().query(CREATE_VK, { input: { name: "bounded", provider: "OPENAI", secret } });
      expect(res.body.errors?.[0].extensions.code, res.text).toBe("BAD_USER_INPUT");
      expect(res.body.errors?.[0].extensions.field).toBe("secret");
      if (secret.trim()) expect(res.text).not.toContain(secret.slice(0, 40));
    }
    const atLimit = await create({ name: "at limit", secret: "sk-" + "y".repeat(8189) });
    expect(atLimit.secretVersion).toBe(1);
    expect((await open(atLimit.id)).secret).toHaveLength(8192);
  });
});

describe("virtual keys: listing and node", () => {
  it("lists newest first with filters, pagination and totalCount; first is bounded", async () => {
    const ws = seed(t).workspace("listing");
    const ids: string[] = [];
    for (const provider of ["ANTHROPIC", "GOOGLE", "ANTHROPIC"]) {
      t.clock.advance(1000);
      ids.push((await create({ name: `list ${provider} ${ids.length}`, provider, workspaceId: ws })).id);
    }
    const page1 = (await owner().data(LIST_VK, { filter: { workspaceId: ws }, first: 2 })).virtualKeys;
    expect(page1.totalCount).toBe(3);
    expect(page1.nodes.map((n: { id: string }) => n.id)).toEqual([ids[2], ids[1]]);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = (await owner().data(LIST_VK, { filter: { workspaceId: ws }, first: 2, after: page1.pageInfo.endCursor })).virtualKeys;
    expect(page2.nodes.map((n: { id: string }) => n.id)).toEqual([ids[0]]);
    expect(page2.pageInfo.hasNextPage).toBe(false);
    const anthropic = (await owner().data(LIST_VK, { filter: { workspaceId: ws, provider: "ANTHROPIC" } })).virtualKeys;
    expect(anthropic.nodes.map((n: { id: string }) => n.id)).toEqual([ids[2], ids[0]]);
    expect(anthropic.nodes[0].workspace).toEqual({ id: ws });
    expect(await owner().errorCode(LIST_VK, { first: 101 })).toBe("BAD_USER_INPUT");
    expect(await owner().errorCode(LIST_VK, { after: "not-a-cursor" })).toBe("BAD_USER_INPUT");
    const node = (await owner().data(NODE, { id: ids[1] })).node;
    expect(node).toMatchObject({ id: ids[1], provider: "GOOGLE", workspace: { id: ws } });
  });
});

describe("virtual keys: permissions and tenancy", () => {
  it("lets members and viewers read but not write", async () => {
    const vk = await create({ name: "read only" });
    for (const role of ["member", "viewer"] as const) {
      const key = seed(t).apiKey(role).token;
      const c = t.client(key);
      expect((await c.data(NODE, { id: vk.id })).node.id).toBe(vk.id);
      expect((await c.data(LIST_VK, {})).virtualKeys.totalCount).toBeGreaterThan(0);
      expect(await c.errorCode(CREATE_VK, { input: { name: "nope", provider: "OPENAI", secret: canary() } })).toBe("FORBIDDEN");
      expect(await c.errorCode(UPDATE_VK, { input: { id: vk.id, name: "nope" } })).toBe("FORBIDDEN");
      expect(await c.errorCode(ROTATE_VK, { id: vk.id, secret: canary() })).toBe("FORBIDDEN");
      expect(await c.errorCode(DELETE_VK, { id: vk.id })).toBe("FORBIDDEN");
    }
  });

  it("scopes a workspace manager to its workspace: others' keys do not exist for it", async () => {
    const s = seed(t);
    const mine = s.workspace("mine");
    const theirs = s.workspace("theirs");
    const manager = t.client(s.apiKey("manager", mine).token);
    const orgWide = await create({ name: "org wide" });
    const inTheirs = await create({ name: "in theirs", workspaceId: theirs });

    const own = (await manager.data(CREATE_VK, { input: { name: "in mine", provider: "OPENAI", secret: canary(), workspaceId: mine } })).createVirtualKey;
    expect(own.workspace).toEqual({ id: mine });
    expect(await manager.errorCode(CREATE_VK, { input: { name: "wide", provider: "OPENAI", secret: canary() } })).toBe("FORBIDDEN");
    expect(await manager.errorCode(CREATE_VK, { input: { name: "x", provider: "OPENAI", secret: canary(), workspaceId: theirs } })).toBe("NOT_FOUND");

    const listed = (await manager.data(LIST_VK, { first: 100 })).virtualKeys;
    expect(listed.nodes.every((n: { workspace: { id: string } | null }) => n.workspace?.id === mine)).toBe(true);
    expect(listed.totalCount).toBe(listed.nodes.length);
    for (const other of [orgWide, inTheirs]) {
      expect(await manager.errorCode(NODE, { id: other.id })).toBe("NOT_FOUND");
      expect(await manager.errorCode(UPDATE_VK, { input: { id: other.id, name: "x" } })).toBe("NOT_FOUND");
      expect(await manager.errorCode(ROTATE_VK, { id: other.id, secret: canary() })).toBe("NOT_FOUND");
      expect(await manager.errorCode(DELETE_VK, { id: other.id })).toBe("NOT_FOUND");
    }
    expect((await manager.data(UPDATE_VK, { input: { id: own.id, name: "renamed" } })).updateVirtualKey.name).toBe("renamed");
    expect((await manager.data(ROTATE_VK, { id: own.id, secret: canary() })).rotateVirtualKeySecret.secretVersion).toBe(2);
    expect((await manager.data(DELETE_VK, { id: own.id })).deleteVirtualKey.deletedId).toBe(own.id);
  });

  it("shows the workspace and policies only to a caller who could read them on their own", async () => {
    const s = seed(t);
    const ws = s.workspace("nested");
    const orgPolicy = insertPolicy(t, "org policy");
    const wsPolicy = insertPolicy(t, "ws policy", ws);
    const vk = await create({ name: "nested", workspaceId: ws, policyIds: [orgPolicy, wsPolicy, orgPolicy] });
    expect(vk.policies.map((p: { id: string }) => p.id).sort()).toEqual([orgPolicy, wsPolicy].sort());

    const vkOnly = t.client(customKey(t, ["VIRTUAL_KEY_READ"]));
    const seen = (await vkOnly.data(NODE, { id: vk.id })).node;
    expect(seen.workspace).toBeNull();
    expect(seen.policies).toEqual([]);
    const wsPolicyReader = t.client(customKey(t, ["VIRTUAL_KEY_READ", "POLICY_READ", "WORKSPACE_READ"], ws));
    const partly = (await wsPolicyReader.data(NODE, { id: vk.id })).node;
    expect(partly.workspace).toEqual({ id: ws });
    expect(partly.policies).toEqual([{ id: wsPolicy, name: "ws policy" }]);
  });

  it("checks policies named at creation: readable, in scope, and POLICY_WRITE where the key lives", async () => {
    const s = seed(t);
    const a = s.workspace("pol-a");
    const b = s.workspace("pol-b");
    const inB = insertPolicy(t, "in b", b);
    const other = t.createOrganization("Policy owner");
    const foreign = insertPolicy(t, "foreign", null, other.organizationId);
    const input = (policyIds: string[], workspaceId: string | null = a) => ({ input: { name: "p", provider: "OPENAI", secret: canary(), workspaceId, policyIds } });
    expect(await owner().errorCode(CREATE_VK, input([inB]))).toBe("BAD_USER_INPUT");
    expect(await owner().errorCode(CREATE_VK, input([foreign]))).toBe("NOT_FOUND");
    expect(await owner().errorCode(CREATE_VK, input(["pol_notAPolicyAtAll"]))).toBe("NOT_FOUND");
    const writerWithoutPolicyWrite = t.client(customKey(t, ["VIRTUAL_KEY_WRITE", "VIRTUAL_KEY_READ", "POLICY_READ"], a));
    const inA = insertPolicy(t, "in a", a);
    expect(await writerWithoutPolicyWrite.errorCode(CREATE_VK, input([inA]))).toBe("FORBIDDEN");
    expect(await writerWithoutPolicyWrite.errorCode(CREATE_VK, input([insertPolicy(t, "org")]))).toBe("NOT_FOUND");
  });

  it("answers NOT_FOUND for every key of another organization", async () => {
    const vk = await create({ name: "tenant one" });
    const other = t.createOrganization("Tenant two");
    const c = t.client(other.ownerKey);
    expect(await c.errorCode(NODE, { id: vk.id })).toBe("NOT_FOUND");
    expect(await c.errorCode(UPDATE_VK, { input: { id: vk.id, name: "mine now" } })).toBe("NOT_FOUND");
    expect(await c.errorCode(ROTATE_VK, { id: vk.id, secret: canary(), baseUrl: "https://llm.example.com" })).toBe("NOT_FOUND");
    expect(await c.errorCode(DELETE_VK, { id: vk.id })).toBe("NOT_FOUND");
    const ws = seed(t).workspace("tenant-one-ws");
    expect(await c.errorCode(CREATE_VK, { input: { name: "x", provider: "OPENAI", secret: canary(), workspaceId: ws } })).toBe("NOT_FOUND");
    expect((await c.data(LIST_VK, {})).virtualKeys.nodes.map((n: { id: string }) => n.id)).not.toContain(vk.id);
    expect((await open(vk.id)).secretVersion).toBe(1);
    await expect(open(vk.id, other.organizationId)).rejects.toThrow(/no such virtual key/);
  });
});
