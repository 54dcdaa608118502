// explainAccess about another principal shows only the role bindings the caller could read one
// by one: a workspace reader does not learn the organization-wide bindings of anyone.
import { afterAll, beforeAll, expect, it } from "vitest";
import { parseApiKey } from "../../src/crypto/api-key-format.js";
import { startServer, type TestServer } from "../harness/server.js";
import { identitySeed } from "../identity/helpers.js";

let t: TestServer;
let s: ReturnType<typeof identitySeed>;
beforeAll(async () => {
  t = await startServer();
  s = identitySeed(t);
});
afterAll(() => t.stop());

const EXPLAIN = `query($p: ID, $perm: Permission!, $ws: ID) {
  explainAccess(principalId: $p, permission: $perm, workspaceId: $ws) { allowed reason matchedRoleBindings { id principalId workspace { id } } }
}`;
const NODE = `query($id: ID!) { node(id: $id) { id } }`;

it("a workspace reader sees no binding it could not read on its own", async () => {
  const ws = s.workspace();
  const reader = t.client(s.apiKey("viewer", ws).token);
  const ownerKeyId = parseApiKey(t.ownerKey)!.apiKeyId;
  const person = s.user("admin");
  for (const p of [ownerKeyId, person]) {
    const d = (await reader.data(EXPLAIN, { p, perm: "ROLE_WRITE", ws })).explainAccess;
    for (const b of d.matchedRoleBindings) {
      expect(await reader.errorCode(NODE, { id: b.id }), `binding ${b.id} of ${p}`).toBe("OK");
    }
    expect(d.matchedRoleBindings).toEqual([]);
  }
});

it("the caller still sees its own bindings, and an organization-wide reader everyone's", async () => {
  const ws = s.workspace();
  const me = s.apiKey("manager", ws);
  const own = (await t.client(me.token).data(EXPLAIN, { perm: "API_KEY_WRITE", ws })).explainAccess;
  expect(own.matchedRoleBindings.map((b: { principalId: string }) => b.principalId)).toEqual([me.id]);
  const person = s.user("admin");
  const all = (await t.client(t.ownerKey).data(EXPLAIN, { p: person, perm: "ROLE_WRITE", ws })).explainAccess;
  expect(all.matchedRoleBindings.map((b: { principalId: string }) => b.principalId)).toEqual([person]);
});
