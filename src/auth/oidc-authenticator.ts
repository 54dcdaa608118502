// Turns a bearer JWT from an organization's identity provider into a user principal, or says
// why not (the reason is for logs and audit only: every failure answers the client identically).
import { and, eq, sql } from "drizzle-orm";
import type { Clock } from "../clock.js";
import { sha256Hex } from "../crypto/hashing.js";
import { OidcTokenError, peekIssuerAndAudiences, type IssuerKeyCache } from "../crypto/oidc-token.js";
import type { Db } from "../db/client.js";
import { ssoConnections } from "../db/schema.js";
import type { SignInRequest, SsoSignIn, VerifiedClaims } from "../modules/sso/sso-sign-in.js";
import { loadAccess } from "./access-loader.js";
import type { Principal } from "./principal.js";

export type OidcAuthResult =
  | { ok: true; principal: Principal }
  | { ok: false; via: "oidc"; reason: string; organizationId?: string; userId?: string };

/**
 * A signature once verified need not be verified again on every request: the claims of a
 * verified token are kept (by the token's hash) until it expires, but at most this long, so
 * that a key the issuer withdraws stops being honoured within a minute. The user's status and
 * bindings are still checked on every request.
 */
const VERIFIED_TTL_MS = 60_000;
const VERIFIED_MAX_ENTRIES = 10_000;

export class OidcAuthenticator {
  private readonly connectionFor;
  private readonly verified = new Map<string, { claims: VerifiedClaims; until: number }>();

  constructor(
    private readonly db: Db,
    private readonly keys: IssuerKeyCache,
    private readonly signIn: SsoSignIn,
    private readonly clock: Clock,
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
    const cacheKey = sha256Hex(`${connection.organizationId}\n${connection.issuer}\n${connection.audience}\n${token}`);
    const now = this.clock.now().getTime();
    let claims = this.verifiedClaims(cacheKey, now);
    if (!claims) {
      try {
        claims = await this.keys.verify(token, { issuer: connection.issuer, audience: connection.audience });
      } catch (err) {
        if (err instanceof OidcTokenError) return failure(err.reason);
        throw err;
      }
      this.remember(cacheKey, claims, now);
    }
    const signedIn = this.signIn.signIn(connection, claims, request);
    if (!signedIn.ok) return failure(signedIn.reason, signedIn.userId);
    return {
      ok: true,
      principal: { kind: "USER", id: signedIn.userId, organizationId: connection.organizationId, access: loadAccess(this.db, connection.organizationId, signedIn.userId) },
    };
  }

  private verifiedClaims(key: string, now: number): VerifiedClaims | undefined {
    const hit = this.verified.get(key);
    if (!hit) return undefined;
    if (hit.until > now) return hit.claims;
    this.verified.delete(key);
    return undefined;
  }

  private remember(key: string, claims: VerifiedClaims, now: number): void {
    const exp = typeof claims.exp === "number" ? claims.exp * 1000 : now;
    const until = Math.min(exp, now + VERIFIED_TTL_MS);
    if (until <= now) return;
    // Oldest first: a Map iterates in insertion order.
    if (this.verified.size >= VERIFIED_MAX_ENTRIES) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(key, { claims, until });
  }
}
