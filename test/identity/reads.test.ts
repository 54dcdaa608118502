// Reads follow permissions: a manager bound in one workspace sees that workspace's keys and
// people's bindings there, and nothing else, through lists, counts and node alike.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "../harness/server.js";
import { identitySeed } from "./helpers.js";

let t: TestServer;
let s: ReturnType<typeof identitySeed>;
let w1: string;
let w2: string;
const ids = {} as Record<"k1" | "k2" | "kOrg" | "kOwned" | "u1" | "u2" | "u3" | "u1w1" | "u1w2", string>;
let manager: ReturnType<TestServer["client"]>;

beforeAll(async () => {
  t = await startServer();
  s = identitySeed(t);
  w1 = s.workspace("reads-one");
  w2 = s.workspace("reads-two");
  ids.k1 = s.apiKey("viewer", w1).id;
  ids.k2 = s.apiKey("viewer", w2).id;
  ids.kOrg = s.apiKey("viewer").id;
  ids.u1 = s.user();
  ids.u1w1 = s.bind(ids.u1, "USER", "member", w1);
  ids.u1w2 = s.bind(ids.u1, "USER", "member", w2);
  ids.u2 = s.user("member", w2);
  ids.u3 = s.user("viewer");
  ids.kOwned = s.userKey(ids.u3, "viewer", w1).id;
  manager = t.client(s.apiKey("manager", w1).token);
});
afterAll(() => t.stop());

const node = (id: string) => manager.query(`query($id: ID!) { node(id: $id) { id } }`, { id });

describe("a manager bound in one workspace", () => {
  it("lists and counts only that workspace's keys", async () => {
    const list = (await manager.data(`{ apiKeys(first: 50) { totalCount nodes { id workspace { id } } } }`)).apiKeys;
    const seen = list.nodes.map((n: { id: string }) => n.id);
    expect(seen).toEqual(expect.arrayContaining([ids.k1, ids.kOwned]));
    expect(seen).not.toContain(ids.k2);
    expect(seen).not.toContain(ids.kOrg);
    expect(list.totalCount).toBe(seen.length);
    expect(list.nodes.every((n: { workspace: { id: string } }) => n.workspace.id === w1)).toBe(true);
    expect((await manager.data(`query($ws: ID) { apiKeys(filter: { workspaceId: $ws }) { totalCount } }`, { ws: w1 })).apiKeys.totalCount).toBe(seen.length);
    expect(await manager.errorCode(`query($ws: ID) { apiKeys(filter: { workspaceId: $ws }) { totalCount } }`, { ws: w2 })).toBe("NOT_FOUND");
  });

  it("reads keys by node only where it may", async () => {
    expect((await node(ids.k1)).body.data?.node).toEqual({ id: ids.k1 });
    for (const id of [ids.k2, ids.kOrg]) expect((await node(id)).body.errors?.[0].extensions.code).toBe("NOT_FOUND");
  });

  it("sees the people bound in its workspace, and only their bindings there", async () => {
    const list = (await manager.data(`{ users(first: 50) { totalCount nodes { id } } }`)).users;
    expect(list.nodes.map((n: { id: string }) => n.id)).toEqual([ids.u1]);
    expect(list.totalCount).toBe(1);
    const u1 = (await manager.data(`query($id: ID!) { node(id: $id) { ... on User { roleBindings { id } } } }`, { id: ids.u1 })).node;
    expect(u1.roleBindings).toEqual([{ id: ids.u1w1 }]);
    for (const id of [ids.u2, ids.u3, ids.u1w2]) expect((await node(id)).body.errors?.[0].extensions.code).toBe("NOT_FOUND");
    expect((await node(ids.u1w1)).body.data?.node).toEqual({ id: ids.u1w1 });
  });

  it("gets null for a nested object it could not read on its own", async () => {
    const key = (await manager.data(`query($id: ID!) { node(id: $id) { ... on ApiKey { owner { id } workspace { id } roleBindings { role { name } workspace { id } } } } }`, { id: ids.kOwned })).node;
    expect(key.owner).toBeNull();
    expect(key.workspace).toEqual({ id: w1 });
    expect(key.roleBindings).toEqual([{ role: { name: "viewer" }, workspace: { id: w1 } }]);
    const owner = t.client(t.ownerKey);
    expect((await owner.data(`query($id: ID!) { node(id: $id) { ... on ApiKey { owner { id } } } }`, { id: ids.kOwned })).node.owner).toEqual({ id: ids.u3 });
  });

  it("cannot change what it cannot see, and learns nothing about it", async () => {
    expect(await manager.errorCode(`mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: ids.k2 })).toBe("NOT_FOUND");
    expect(await manager.errorCode(`mutation($id: ID!) { revokeRoleBinding(id: $id) { deletedId } }`, { id: ids.u1w2 })).toBe("NOT_FOUND");
    expect(await manager.errorCode(`mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: ids.kOrg })).toBe("NOT_FOUND");
  });

  it("a viewer without API_KEY_WRITE gets FORBIDDEN for a key it can see", async () => {
    const viewer = t.client(s.apiKey("viewer", w1).token);
    expect(await viewer.errorCode(`mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: ids.k1 })).toBe("FORBIDDEN");
  });
});
