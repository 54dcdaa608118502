// Turns a bearer JWT from an organization's identity provider into a user principal, or says
// why not (the reason is for logs and audit only: every failure answers the client identically).
import { and, eq, sql } from "drizzle-orm";
import { OidcTokenError, peekIssuerAndAudiences, type IssuerKeyCache } from "../crypto/oidc-token.js";
import type { Db } from "../db/client.js";
import { ssoConnections } from "../db/schema.js";
import type { SignInRequest, SsoSignIn, VerifiedClaims } from "../modules/sso/sso-sign-in.js";
import { loadAccess } from "./access-loader.js";
import type { Principal } from "./principal.js";

export type OidcAuthResult =
  | { ok: true; principal: Principal }
  | { ok: false; via: "oidc"; reason: string; organizationId?: string; userId?: string };

export class OidcAuthenticator {
  private readonly connectionFor;

  constructor(
    private readonly db: Db,
    private readonly keys: IssuerKeyCache,
    private readonly signIn: SsoSignIn,
  ) {
    // Prepared once: on every request, building the query would cost more than running it.
    this.connectionFor = db
      .select()
      .from(ssoConnections)
      .where(and(eq(ssoConnections.issuer, sql.placeholder("issuer")), eq(ssoConnections.audience, sql.placeholder("audience"))))
      .prepare();
  }

  async authenticate(token: string, request: SignInRequest): Promise<OidcAuthResult> {
    // Read unverified, and only to find the connection that will verify everything.
    const peeked = peekIssuerAndAudiences(token);
    if (!peeked) return { ok: false, via: "oidc", reason: "malformed" };
    const audiences = [...new Set(peeked.audiences)];
    const matches = audiences.flatMap((audience) => this.connectionFor.all({ issuer: peeked.issuer, audience }));
    if (matches.length !== 1) return { ok: false, via: "oidc", reason: matches.length === 0 ? "unknown_issuer" : "ambiguous_audience" };
    const connection = matches[0];
    const failure = (reason: string, userId?: string): OidcAuthResult => ({ ok: false, via: "oidc", reason, organizationId: connection.organizationId, userId });
    // A token meant for other audiences as well is not one this organization alone trusts.
    if (audiences.length !== 1) return failure("extra_audience");
    let claims: VerifiedClaims;
    try {
      claims = await this.keys.verify(token, { issuer: connection.issuer, audience: connection.audience });
    } catch (err) {
      if (err instanceof OidcTokenError) return failure(err.reason);
      throw err;
    }
    const signedIn = this.signIn.signIn(connection, claims, request);
    if (!signedIn.ok) return failure(signedIn.reason, signedIn.userId);
    return {
      ok: true,
      principal: { kind: "USER", id: signedIn.userId, organizationId: connection.organizationId, access: loadAccess(this.db, connection.organizationId, signedIn.userId) },
    };
  }
}
