// configureSso and ssoConnection: who may, what is stored, and what is refused.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Permission } from "../../src/auth/permission.js";
import { auditEvents, ssoConnections } from "../../src/db/schema.js";
import { seed } from "../harness/factories.js";
import { startOidcIssuer, type OidcIssuer } from "../harness/oidc-issuer.js";
import { startServer, type TestServer } from "../harness/server.js";
import { CONFIGURE_SSO, configureSso, customRole, db, keyWithRoles, PRIVATE_NETWORK } from "./sso-helpers.js";

let t: TestServer;
let issuer: OidcIssuer;
let s: ReturnType<typeof seed>;

beforeAll(async () => {
  t = await startServer({ env: PRIVATE_NETWORK });
  issuer = await startOidcIssuer({ now: () => t.clock.now() });
  s = seed(t);
});
afterAll(async () => {
  await t.stop();
  await issuer.stop();
});

const READ = `{ ssoConnection { issuer audience roleClaim jitProvisioning updatedAt roleMappings { claimValue role { id name } workspace { id } } } }`;

describe("configureSso and ssoConnection", () => {
  it("stores the connection with its defaults, returns it, and ssoConnection reads it back", async () => {
    const owner = t.client(t.ownerKey);
    expect((await owner.data(READ)).ssoConnection).toBeNull();
    const ws = s.workspace("sso-ws");
    const configured = await configureSso(owner, {
      issuer: issuer.issuer,
      audience: "app-1",
      roleMappings: [
        { claimValue: "admins", roleId: s.roleId("admin") },
        { claimValue: "devs", roleId: s.roleId("member"), workspaceId: ws },
      ],
    });
    expect(configured).toMatchObject({
      issuer: issuer.issuer,
      audience: "app-1",
      roleClaim: "groups",
      jitProvisioning: false,
      roleMappings: [
        { claimValue: "admins", role: { id: s.roleId("admin"), name: "admin" }, workspace: null },
        { claimValue: "devs", role: { id: s.roleId("member"), name: "member" }, workspace: { id: ws } },
      ],
    });
    expect((await owner.data(READ)).ssoConnection).toEqual(configured);
    // A viewer holds ORGANIZATION_READ organization-wide.
    expect((await t.client(s.apiKey("viewer").token).data(READ)).ssoConnection.issuer).toBe(issuer.issuer);
    // configureSso does not fetch anything from the issuer.
    expect(issuer.requests).toEqual({ discovery: 0, jwks: 0 });
  });

  it("replaces the whole configuration, mappings included, and audits it", async () => {
    const owner = t.client(t.ownerKey);
    const configured = await configureSso(owner, {
      issuer: issuer.issuer,
      audience: "app-1",
      roleClaim: "roles",
      jitProvisioning: true,
      roleMappings: [{ claimValue: "viewers", roleId: s.roleId("viewer") }],
    });
    expect(configured).toMatchObject({ roleClaim: "roles", jitProvisioning: true, roleMappings: [{ claimValue: "viewers", role: { name: "viewer" }, workspace: null }] });
    const events = db(t).select().from(auditEvents).where(eq(auditEvents.action, "configureSso")).all();
    expect(events.map((e) => e.outcome)).toEqual(["SUCCESS", "SUCCESS"]);
    expect(JSON.parse(events[1].details!)).toMatchObject({ issuer: issuer.issuer, audience: "app-1", roleClaim: "roles", jitProvisioning: true });
  });

  it("keeps a workspace that an SSO mapping is scoped to from being deleted", async () => {
    const owner = t.client(t.ownerKey);
    const mapped = s.workspace("mapped-ws");
    const DELETE = `mutation($id: ID!) { deleteWorkspace(id: $id) { deletedId } }`;
    await configureSso(owner, { issuer: issuer.issuer, audience: "app-1", roleClaim: "roles", jitProvisioning: true, roleMappings: [{ claimValue: "devs", roleId: s.roleId("member"), workspaceId: mapped }] });
    expect(await owner.errorCode(DELETE, { id: mapped })).toBe("CONFLICT");
    await configureSso(owner, { issuer: issuer.issuer, audience: "app-1", roleClaim: "roles", jitProvisioning: true, roleMappings: [] });
    expect((await owner.data(DELETE, { id: mapped })).deleteWorkspace.deletedId).toBe(mapped);
  });

  it("answers CONFLICT when another organization already uses the issuer and audience pair", async () => {
    const other = t.createOrganization();
    const client = t.client(other.ownerKey);
    const res = await client.query(CONFIGURE_SSO, { input: { issuer: issuer.issuer, audience: "app-1", roleMappings: [] } });
    expect(res.body.errors?.[0].extensions.code, res.text).toBe("CONFLICT");
    expect(res.text).not.toContain(issuer.issuer);
    // The same issuer with another audience is another connection.
    expect((await configureSso(client, { issuer: issuer.issuer, audience: "app-2" })).audience).toBe("app-2");
    // Reconfiguring one's own pair is no conflict.
    expect((await configureSso(t.client(t.ownerKey), { issuer: issuer.issuer, audience: "app-1" })).audience).toBe("app-1");
  });

  it("refuses a mapping that grants more than the caller holds in that scope", async () => {
    const wsA = s.workspace("grant-a");
    const wsB = s.workspace("grant-b");
    const configurer = customRole(t, "sso-configurer", [Permission.ORGANIZATION_WRITE, Permission.ORGANIZATION_READ]);
    const readOnly = customRole(t, "org-reader", [Permission.ORGANIZATION_READ]);
    const key = keyWithRoles(t, [{ roleId: configurer }, { roleId: s.roleId("member"), workspaceId: wsA }]);
    const client = t.client(key);
    const attempt = (mapping: { roleId: string; workspaceId?: string }) =>
      client.errorCode(CONFIGURE_SSO, { input: { issuer: issuer.issuer, audience: "scoped", roleMappings: [{ claimValue: "g", ...mapping }] } }).catch(() => "OK");

    expect(await attempt({ roleId: s.roleId("owner") })).toBe("FORBIDDEN");
    expect(await attempt({ roleId: s.roleId("admin") })).toBe("FORBIDDEN");
    expect(await attempt({ roleId: s.roleId("member") })).toBe("FORBIDDEN");
    expect(await attempt({ roleId: s.roleId("member"), workspaceId: wsB })).toBe("FORBIDDEN");
    expect(await attempt({ roleId: s.roleId("member"), workspaceId: wsA })).toBe("OK");
    expect(await attempt({ roleId: readOnly })).toBe("OK");
    // Refused attempts changed nothing and were audited as denied.
    const stored = db(t).select().from(ssoConnections).where(eq(ssoConnections.organizationId, t.organizationId)).get();
    expect(stored?.audience).toBe("scoped");
    const denied = db(t).select().from(auditEvents).where(eq(auditEvents.action, "configureSso")).all().filter((e) => e.outcome === "DENIED");
    expect(denied.length).toBeGreaterThanOrEqual(4);
  });

  it("refuses to remove a mapping whose role the caller does not hold (it would demote its holders)", async () => {
    const owner = t.client(t.ownerKey);
    const input = (roleMappings: { claimValue: string; roleId: string }[]) => ({ input: { issuer: issuer.issuer, audience: "removal", roleMappings } });
    await owner.data(CONFIGURE_SSO, input([{ claimValue: "admins", roleId: s.roleId("admin") }, { claimValue: "readers", roleId: s.roleId("viewer") }]));
    const configurer = customRole(t, "sso-remover", [Permission.ORGANIZATION_WRITE, Permission.ORGANIZATION_READ]);
    const weaker = t.client(keyWithRoles(t, [{ roleId: configurer }, { roleId: s.roleId("viewer") }]));
    // Keeping the admin mapping is re-granting admin, dropping it demotes every SSO admin: both refused.
    expect(await weaker.errorCode(CONFIGURE_SSO, input([{ claimValue: "readers", roleId: s.roleId("viewer") }]))).toBe("FORBIDDEN");
    expect(await weaker.errorCode(CONFIGURE_SSO, input([{ claimValue: "admins", roleId: s.roleId("admin") }]))).toBe("FORBIDDEN");
    const mappings = (await owner.data(READ)).ssoConnection.roleMappings.map((m: { claimValue: string }) => m.claimValue);
    expect(mappings).toEqual(["admins", "readers"]);
  });

  it("needs ORGANIZATION_WRITE to configure and ORGANIZATION_READ organization-wide to read", async () => {
    const ws = s.workspace("perm-ws");
    const input = { issuer: issuer.issuer, audience: "nope", roleMappings: [] };
    expect(await t.client(s.apiKey("admin").token).errorCode(CONFIGURE_SSO, { input })).toBe("FORBIDDEN");
    expect(await t.client(s.apiKey("owner", ws).token).errorCode(CONFIGURE_SSO, { input })).toBe("FORBIDDEN");
    expect(await t.client(s.apiKey("member", ws).token).errorCode(READ)).toBe("FORBIDDEN");
  });

  it("answers NOT_FOUND for roles and workspaces of another organization, and for IDs that are not ours", async () => {
    const other = t.createOrganization("Third");
    const otherSeed = seed(t, other.organizationId);
    const owner = t.client(t.ownerKey);
    const attempt = (mapping: { roleId: string; workspaceId?: string }) =>
      owner.errorCode(CONFIGURE_SSO, { input: { issuer: issuer.issuer, audience: "nf", roleMappings: [{ claimValue: "g", ...mapping }] } });
    expect(await attempt({ roleId: otherSeed.roleId("viewer") })).toBe("NOT_FOUND");
    expect(await attempt({ roleId: s.roleId("viewer"), workspaceId: otherSeed.workspace("theirs") })).toBe("NOT_FOUND");
    expect(await attempt({ roleId: "role_0000000000000000000000" })).toBe("NOT_FOUND");
    expect(await attempt({ roleId: "'; drop table roles; --" })).toBe("NOT_FOUND");
    expect(await attempt({ roleId: s.roleId("viewer"), workspaceId: "ws_0000000000000000000000" })).toBe("NOT_FOUND");
  });

  it("refuses malformed input without echoing it", async () => {
    const owner = t.client(t.ownerKey);
    const cases = [
      { issuer: "not a url sekrit-1", audience: "a" },
      { issuer: `${issuer.issuer}?x=sekrit-2`, audience: "a" },
      { issuer: "ftp://idp.example.com/sekrit-3", audience: "a" },
      { issuer: "http://user:sekrit-4@127.0.0.1/", audience: "a" },
      { issuer: issuer.issuer, audience: "" },
      { issuer: issuer.issuer, audience: "a", roleClaim: "bad\nclaim" },
    ];
    for (const input of cases) {
      const res = await owner.query(CONFIGURE_SSO, { input: { ...input, roleMappings: [] } });
      expect(res.body.errors?.[0].extensions.code, res.text).toBe("BAD_USER_INPUT");
      expect(res.text).not.toMatch(/sekrit/);
    }
    const twice = { claimValue: "g", roleId: s.roleId("viewer") };
    expect(await owner.errorCode(CONFIGURE_SSO, { input: { issuer: issuer.issuer, audience: "a", roleMappings: [twice, twice] } })).toBe("BAD_USER_INPUT");
  });
});
