// The last-owner rule at SSO sign-in: a key that only acts as owner through the very person
// being demoted is no other owner.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parseApiKey } from "../../src/crypto/api-key-format.js";
import { apiKeys } from "../../src/db/schema.js";
import { seed } from "../harness/factories.js";
import { startOidcIssuer, type OidcIssuer } from "../harness/oidc-issuer.js";
import { startServer, type TestServer } from "../harness/server.js";
import { bindingsOf, configureSso, db, present, PRIVATE_NETWORK } from "../sso/sso-helpers.js";

let t: TestServer;
let issuer: OidcIssuer;

beforeAll(async () => {
  t = await startServer({ env: PRIVATE_NETWORK });
  issuer = await startOidcIssuer({ now: () => t.clock.now() });
});
afterAll(async () => {
  await issuer.stop();
  await t.stop();
});

it("does not count the demoted person's own key as another owner", async () => {
  const other = t.createOrganization("Owned by SSO");
  const o = seed(t, other.organizationId);
  await configureSso(t.client(other.ownerKey), {
    issuer: issuer.issuer,
    audience: "owned-by-sso",
    jitProvisioning: true,
    roleMappings: [{ claimValue: "owners", roleId: o.roleId("owner") }],
  });
  const token = (groups: string[]) => issuer.sign({ sub: "olivia-sub", aud: "owned-by-sso", groups });
  const jwt = await token(["owners"]);
  const created = await present(t, jwt, {
    query: `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id owner { id } } } }`,
    variables: { input: { name: "olivia's owner key", roleIds: [o.roleId("owner")] } },
  });
  expect(created.status, created.bodyWithoutRequestId).toBe(200);
  const olivia = created.body.data.createApiKey.apiKey.owner.id;
  const personalKey = created.body.data.createApiKey.secret;
  // Only Olivia (and through her, her key) is owner now.
  db(t).update(apiKeys).set({ revokedAt: t.clock.now() }).where(eq(apiKeys.id, parseApiKey(other.ownerKey)!.apiKeyId)).run();

  const demoted = await present(t, await token([]));
  expect(demoted.status).toBe(200);
  expect(bindingsOf(t, olivia)).toEqual([{ roleId: o.roleId("owner"), workspaceId: null, source: "SSO" }]);
  const viaKey = await present(t, personalKey, { query: "{ viewer { permissions } }" });
  expect(viaKey.body.data.viewer.permissions).toContain("ORGANIZATION_WRITE");
});
