// viewer.user and viewer.apiKey are the caller itself, readable by it whatever its roles (the
// contract's Viewer): as every built-in role, organization-wide and in one workspace, for keys
// and for people signed in through the identity provider. Nothing else becomes readable.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUILT_IN_ROLES, type BuiltInRoleName } from "../../src/auth/permission.js";
import { seed } from "../harness/factories.js";
import { startOidcIssuer, type OidcIssuer } from "../harness/oidc-issuer.js";
import { startServer, type TestServer } from "../harness/server.js";
import { configureSso, present, PRIVATE_NETWORK } from "../sso/sso-helpers.js";

const ROLES = Object.keys(BUILT_IN_ROLES) as BuiltInRoleName[];
const WHO = `{ viewer { principalId kind user { id email name status } apiKey { id name workspace { id } } } }`;

let t: TestServer;
let issuer: OidcIssuer;
let s: ReturnType<typeof seed>;
let ws: string;

beforeAll(async () => {
  t = await startServer({ env: PRIVATE_NETWORK });
  issuer = await startOidcIssuer({ now: () => t.clock.now() });
  s = seed(t);
  ws = s.workspace("team");
  await configureSso(t.client(t.ownerKey), {
    issuer: issuer.issuer,
    audience: issuer.audience,
    jitProvisioning: true,
    roleClaim: "groups",
    roleMappings: [...ROLES.map((r) => ({ claimValue: r, roleId: s.roleId(r) })), ...ROLES.map((r) => ({ claimValue: `team-${r}`, roleId: s.roleId(r), workspaceId: ws }))],
  });
});
afterAll(async () => {
  await t.stop();
  await issuer.stop();
});

describe("viewer shows the caller itself", () => {
  it.each(ROLES)("an API key holding %s, organization-wide and in a workspace, sees itself in viewer.apiKey", async (role) => {
    for (const where of [null, ws]) {
      const key = s.apiKey(role, where);
      const viewer = (await t.client(key.token).data(WHO)).viewer;
      expect(viewer).toEqual({ principalId: key.id, kind: "API_KEY", user: null, apiKey: { id: key.id, name: `${role} key`, workspace: where ? { id: where } : null } });
    }
  });

  it.each(ROLES)("a person signed in as %s, organization-wide and in a workspace, sees themselves in viewer.user", async (role) => {
    for (const [group, sub] of [[role, `${role}-org`], [`team-${role}`, `${role}-team`]]) {
      const attempt = await present(t, await issuer.sign({ sub, email: `${sub}@example.com`, email_verified: true, name: sub, groups: [group] }), { query: WHO });
      expect(attempt.status, attempt.bodyWithoutRequestId).toBe(200);
      const viewer = attempt.body.data.viewer;
      expect(viewer).toMatchObject({ kind: "USER", apiKey: null, user: { id: viewer.principalId, email: `${sub}@example.com`, name: sub, status: "ACTIVE" } });
    }
  });

  it("makes nothing else readable: a member key (no API_KEY_READ) still reads no other key, nor itself elsewhere", async () => {
    const reader = s.apiKey("member");
    const other = s.apiKey("member");
    const client = t.client(reader.token);
    const NODE = `query($id: ID!) { node(id: $id) { id } }`;
    expect(await client.errorCode(NODE, { id: other.id })).toBe("NOT_FOUND");
    expect(await client.errorCode(`{ apiKeys { nodes { id } } }`)).toBe("FORBIDDEN");
    expect(await client.errorCode(NODE, { id: reader.id })).toBe("NOT_FOUND");
    expect((await client.data(WHO)).viewer.apiKey.id).toBe(reader.id);
  });
});
