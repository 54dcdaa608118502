// Signing in with a token of the organization's identity provider: who gets in, as whom, with
// which roles.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Permission } from "../../src/auth/permission.js";
import { apiKeys, users } from "../../src/db/schema.js";
import { seed } from "../harness/factories.js";
import { startOidcIssuer, type OidcIssuer } from "../harness/oidc-issuer.js";
import { startServer, type TestServer } from "../harness/server.js";
import {
  authenticationEvents,
  bindingsOf,
  bindManually,
  configureSso,
  db,
  invite,
  present,
  PRIVATE_NETWORK,
  suspend,
  UNAUTHENTICATED_BODY,
  userBySubject,
  userRow,
} from "./sso-helpers.js";

let t: TestServer;
let issuer: OidcIssuer;
let s: ReturnType<typeof seed>;
let wsA: string;
let wsB: string;

const VIEWER = `query($ws: ID) { viewer { principalId kind orgWide: permissions workspace: permissions(workspaceId: $ws) } }`;

async function configure(jitProvisioning: boolean, roleClaim?: string) {
  await configureSso(t.client(t.ownerKey), {
    issuer: issuer.issuer,
    audience: issuer.audience,
    jitProvisioning,
    roleClaim,
    roleMappings: [
      { claimValue: "admins", roleId: s.roleId("admin") },
      { claimValue: "readers", roleId: s.roleId("viewer") },
      { claimValue: "a-devs", roleId: s.roleId("member"), workspaceId: wsA },
      { claimValue: "b-managers", roleId: s.roleId("manager"), workspaceId: wsB },
    ],
  });
}

/** Signs in over HTTP and returns the viewer, or the failed attempt. */
async function signIn(claims: Record<string, unknown>, ws: string | null = null) {
  return present(t, await issuer.sign(claims), { query: VIEWER, variables: { ws } });
}

beforeAll(async () => {
  t = await startServer({ env: PRIVATE_NETWORK });
  issuer = await startOidcIssuer({ now: () => t.clock.now() });
  s = seed(t);
  wsA = s.workspace("team-a");
  wsB = s.workspace("team-b");
});
afterAll(async () => {
  await t.stop();
  await issuer.stop();
});

describe("invitations (jitProvisioning off)", () => {
  beforeAll(() => configure(false));

  it("refuses a person who was not invited, and audits it in the organization", async () => {
    const attempt = await signIn({ sub: "stranger", email: "stranger@example.com", email_verified: true });
    expect(attempt.status).toBe(401);
    expect(attempt.bodyWithoutRequestId).toBe(UNAUTHENTICATED_BODY);
    expect(userBySubject(t, "stranger")).toBeUndefined();
    expect(authenticationEvents(t).at(-1)).toMatchObject({ outcome: "DENIED", actorId: null, details: { reason: "not_invited" } });
  });

  it("matches an invitation by email only when the token says email_verified is true", async () => {
    const invited = invite(t, "alice@example.com");
    for (const email_verified of [false, "true", 1, undefined]) {
      const attempt = await signIn({ sub: "alice-sub", email: "alice@example.com", email_verified });
      expect(attempt.status, attempt.bodyWithoutRequestId).toBe(401);
    }
    expect(userRow(t, invited)?.oidcSubject).toBeNull();

    const attempt = await signIn({ sub: "alice-sub", email: "Alice@Example.com", email_verified: true });
    expect(attempt.status, attempt.bodyWithoutRequestId).toBe(200);
    expect(attempt.body.data.viewer).toMatchObject({ principalId: invited, kind: "USER" });
    const row = userRow(t, invited)!;
    expect(row).toMatchObject({ oidcIssuer: issuer.issuer, oidcSubject: "alice-sub", email: "alice@example.com" });
    expect(row.lastLoginAt?.getTime()).toBe(t.clock.now().getTime());
    expect(authenticationEvents(t).at(-1)).toMatchObject({ outcome: "SUCCESS", actorId: invited, targetId: invited, details: { provisioned: "invitation" } });
  });

  it("matches an invitation once: afterwards the person is their iss and sub, not their email", async () => {
    const other = await signIn({ sub: "someone-else", email: "alice@example.com", email_verified: true });
    expect(other.status).toBe(401);
    const again = await signIn({ sub: "alice-sub" });
    expect(again.status).toBe(200);
    expect(again.body.data.viewer.principalId).toBe(userBySubject(t, "alice-sub")!.id);
  });

  it("refuses a suspended user, invited or signed in before, with the same 401", async () => {
    const bob = invite(t, "bob@example.com");
    suspend(t, bob);
    const first = await signIn({ sub: "bob-sub", email: "bob@example.com", email_verified: true });
    expect(first.status).toBe(401);
    expect(first.bodyWithoutRequestId).toBe(UNAUTHENTICATED_BODY);
    expect(userRow(t, bob)?.oidcSubject).toBeNull();

    const alice = userBySubject(t, "alice-sub")!.id;
    suspend(t, alice);
    const attempt = await signIn({ sub: "alice-sub" });
    expect(attempt.status).toBe(401);
    expect(attempt.bodyWithoutRequestId).toBe(UNAUTHENTICATED_BODY);
    expect(authenticationEvents(t).at(-1)).toMatchObject({ outcome: "DENIED", targetKind: "User", targetId: alice, details: { reason: "suspended" } });
    db(t).update(users).set({ status: "ACTIVE" }).where(eq(users.id, alice)).run();
  });
});

describe("just-in-time provisioning", () => {
  beforeAll(() => configure(true));

  it("creates the person at first sign-in, keeping only a verified email and the name", async () => {
    const attempt = await signIn({ sub: "carol-sub", email: "carol@example.com", email_verified: true, name: "Carol" });
    expect(attempt.status, attempt.bodyWithoutRequestId).toBe(200);
    const carol = userBySubject(t, "carol-sub")!;
    expect(attempt.body.data.viewer).toMatchObject({ principalId: carol.id, kind: "USER" });
    expect(carol.id).toMatch(/^usr_/);
    expect(carol).toMatchObject({ email: "carol@example.com", name: "Carol", status: "ACTIVE", oidcIssuer: issuer.issuer });
    expect(authenticationEvents(t).at(-1)).toMatchObject({ outcome: "SUCCESS", targetId: carol.id, details: { provisioned: "jit" } });

    await signIn({ sub: "dave-sub", email: "dave@example.com", email_verified: false });
    expect(userBySubject(t, "dave-sub")).toMatchObject({ email: null });
    // A second identity with an email already taken gets in without it.
    await signIn({ sub: "carol-2", email: "carol@example.com", email_verified: true });
    expect(userBySubject(t, "carol-2")).toMatchObject({ email: null });
    // A verified but malformed email (control or bidi characters, no domain) is not kept either.
    for (const [sub, email] of [["erin-1", "erin\u202e@example.com"], ["erin-2", "erin\n@example.com"], ["erin-3", "erin@localhost"]]) {
      await signIn({ sub, email, email_verified: true });
      expect(userBySubject(t, sub)).toMatchObject({ email: null });
    }
  });

  it("still refuses a suspended person", async () => {
    suspend(t, userBySubject(t, "carol-sub")!.id);
    expect((await signIn({ sub: "carol-sub" })).status).toBe(401);
  });

  it("updates lastLoginAt at most once a minute", async () => {
    await signIn({ sub: "erin-sub" });
    const first = userBySubject(t, "erin-sub")!.lastLoginAt!.getTime();
    t.clock.advance(30_000);
    await signIn({ sub: "erin-sub" });
    expect(userBySubject(t, "erin-sub")!.lastLoginAt!.getTime()).toBe(first);
    t.clock.advance(31_000);
    await signIn({ sub: "erin-sub" });
    expect(userBySubject(t, "erin-sub")!.lastLoginAt!.getTime()).toBe(t.clock.now().getTime());
  });
});

describe("role mappings", () => {
  beforeAll(() => configure(true));

  it("maps role claim values to roles organization-wide and per workspace, replacing SSO bindings at every sign-in", async () => {
    let attempt = await signIn({ sub: "frank-sub", groups: ["admins", "unmapped"] });
    expect(attempt.status, attempt.bodyWithoutRequestId).toBe(200);
    const frank = attempt.body.data.viewer.principalId;
    expect(attempt.body.data.viewer.orgWide).toContain(Permission.USER_WRITE);
    expect(bindingsOf(t, frank)).toEqual([{ roleId: s.roleId("admin"), workspaceId: null, source: "SSO" }]);

    // A manual binding is left alone by every later sign-in.
    bindManually(t, frank, s.roleId("viewer"), wsB);

    attempt = await signIn({ sub: "frank-sub", groups: ["a-devs"] }, wsA);
    expect(attempt.body.data.viewer.orgWide).toEqual([]);
    expect(attempt.body.data.viewer.workspace).toContain(Permission.MODEL_INVOKE);
    expect(bindingsOf(t, frank)).toEqual(
      expect.arrayContaining([
        { roleId: s.roleId("viewer"), workspaceId: wsB, source: "MANUAL" },
        { roleId: s.roleId("member"), workspaceId: wsA, source: "SSO" },
      ]),
    );
    expect(bindingsOf(t, frank)).toHaveLength(2);
    expect(authenticationEvents(t).at(-1)).toMatchObject({
      outcome: "SUCCESS",
      details: { ssoRoleBindingsAdded: [{ roleId: s.roleId("member"), workspaceId: wsA }], ssoRoleBindingsRemoved: [{ roleId: s.roleId("admin"), workspaceId: null }] },
    });

    attempt = await signIn({ sub: "frank-sub", groups: "b-managers" }, wsB);
    expect(attempt.body.data.viewer.workspace).toContain(Permission.POLICY_WRITE);
    expect(bindingsOf(t, frank)).toEqual(
      expect.arrayContaining([
        { roleId: s.roleId("viewer"), workspaceId: wsB, source: "MANUAL" },
        { roleId: s.roleId("manager"), workspaceId: wsB, source: "SSO" },
      ]),
    );
    expect(bindingsOf(t, frank)).toHaveLength(2);

    // No claim at all: every SSO binding goes, the manual one stays.
    attempt = await signIn({ sub: "frank-sub" }, wsB);
    expect(attempt.status).toBe(200);
    expect(bindingsOf(t, frank)).toEqual([{ roleId: s.roleId("viewer"), workspaceId: wsB, source: "MANUAL" }]);
  });

  it("reads the configured role claim, as a string or an array of strings", async () => {
    await configure(true, "https://example.com/roles");
    const attempt = await signIn({ sub: "grace-sub", groups: ["admins"], "https://example.com/roles": "readers" });
    expect(bindingsOf(t, attempt.body.data.viewer.principalId)).toEqual([{ roleId: s.roleId("viewer"), workspaceId: null, source: "SSO" }]);
    const mixed = await signIn({ sub: "grace-sub", "https://example.com/roles": ["readers", 7, { admins: true }, "a-devs"] });
    expect(bindingsOf(t, mixed.body.data.viewer.principalId)).toHaveLength(2);
    await configure(true);
  });

  it("never takes the organization's last owner binding away at sign-in", async () => {
    // The bootstrap organization's owner key is revoked, so that an SSO user is the last owner.
    const other = t.createOrganization("Owned by SSO");
    const o = seed(t, other.organizationId);
    await configureSso(t.client(other.ownerKey), {
      issuer: issuer.issuer,
      audience: "owned-by-sso",
      jitProvisioning: true,
      roleMappings: [{ claimValue: "owners", roleId: o.roleId("owner") }],
    });
    const token = (groups: string[]) => issuer.sign({ sub: "olivia-sub", aud: "owned-by-sso", groups });
    const first = await present(t, await token(["owners"]), { query: "{ viewer { principalId organization { id } } }" });
    expect(first.status, first.bodyWithoutRequestId).toBe(200);
    expect(first.body.data.viewer.organization.id).toBe(other.organizationId);
    const olivia = first.body.data.viewer.principalId;
    db(t).update(apiKeys).set({ revokedAt: t.clock.now() }).where(eq(apiKeys.organizationId, other.organizationId)).run();

    const demoted = await present(t, await token([]));
    expect(demoted.status).toBe(200);
    expect(bindingsOf(t, olivia)).toEqual([{ roleId: o.roleId("owner"), workspaceId: null, source: "SSO" }]);
  });

  it("makes the same person a separate user in each organization that trusts the same issuer", async () => {
    const attempt = await present(t, await issuer.sign({ sub: "frank-sub", aud: "owned-by-sso" }), { query: "{ viewer { principalId organization { name } } }" });
    expect(attempt.status, attempt.bodyWithoutRequestId).toBe(200);
    expect(attempt.body.data.viewer.organization.name).toBe("Owned by SSO");
    const home = await signIn({ sub: "frank-sub" });
    expect(home.body.data.viewer.principalId).not.toBe(attempt.body.data.viewer.principalId);
  });
});
