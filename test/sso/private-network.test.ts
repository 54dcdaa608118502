// Without PORTCULLIS_ALLOW_PRIVATE_NETWORK an issuer is held to the provider URL rules: https,
// and no loopback, private or metadata address, neither when configured nor when fetched.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ssoConnections } from "../../src/db/schema.js";
import { startOidcIssuer, type OidcIssuer } from "../harness/oidc-issuer.js";
import { startServer, type TestServer } from "../harness/server.js";
import { authenticationEvents, CONFIGURE_SSO, db, present, UNAUTHENTICATED_BODY } from "./sso-helpers.js";

let t: TestServer;
let issuer: OidcIssuer;

const FAKE_DNS: Record<string, string> = { "idp.internal-corp.example": "10.1.2.3", "idp.example.com": "93.184.216.34" };

beforeAll(async () => {
  t = await startServer({
    resolver: async (hostname) => (FAKE_DNS[hostname] ? [{ address: FAKE_DNS[hostname], family: 4 }] : []),
  });
  issuer = await startOidcIssuer({ now: () => t.clock.now() });
});
afterAll(async () => {
  await t.stop();
  await issuer.stop();
});

describe("issuer network rules without PORTCULLIS_ALLOW_PRIVATE_NETWORK", () => {
  it("configureSso refuses http, loopback, private and metadata issuers", async () => {
    const owner = t.client(t.ownerKey);
    for (const bad of [
      issuer.issuer,
      "http://idp.example.com",
      "https://127.0.0.1/tenant",
      "https://localhost/tenant",
      "https://[::1]/tenant",
      "https://169.254.169.254/latest",
      "https://metadata.google.internal/",
      "https://idp.internal-corp.example/",
      "https://unresolvable.example/",
    ]) {
      const res = await owner.query(CONFIGURE_SSO, { input: { issuer: bad, audience: "a", roleMappings: [] } });
      expect(res.body.errors?.[0].extensions.code, `${bad}: ${res.text}`).toBe("BAD_USER_INPUT");
    }
    expect(db(t).select().from(ssoConnections).all()).toEqual([]);
    // A public https issuer passes (nothing is fetched while configuring).
    const res = await owner.query(CONFIGURE_SSO, { input: { issuer: "https://idp.example.com", audience: "a", roleMappings: [] } });
    expect(res.body.data?.configureSso.issuer, res.text).toBe("https://idp.example.com");
  });

  it("never fetches keys from a loopback issuer, even one written straight into the database", async () => {
    db(t).update(ssoConnections).set({ issuer: issuer.issuer, audience: issuer.audience }).run();
    const attempt = await present(t, await issuer.sign());
    expect(attempt.status).toBe(401);
    expect(attempt.bodyWithoutRequestId).toBe(UNAUTHENTICATED_BODY);
    expect(issuer.requests).toEqual({ discovery: 0, jwks: 0 });
    expect(authenticationEvents(t).at(-1)?.details).toEqual({ reason: "issuer_unavailable" });
  });
});
