// Verification of OIDC bearer JWTs with jose, against each issuer's published keys, cached.
// Keys are chosen only from the issuer's JWKS by kid and algorithm; jku, x5u and jwk headers
// are never consulted.
import { createLocalJWKSet, decodeJwt, errors, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from "jose";
import type { Clock } from "../clock.js";

/** Asymmetric signatures only: no HS*, no none. */
const OIDC_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];
const CLOCK_SKEW_SECONDS = 60;
const MAX_JWT_LENGTH = 8192;

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const ASYMMETRIC_KEY_TYPES = new Set(["RSA", "EC", "OKP"]);

/** Three base64url parts (the signature may be empty, as in alg none, so that such tokens are refused here too). */
export function looksLikeJwt(token: string): boolean {
  return token.length <= MAX_JWT_LENGTH && JWT_SHAPE.test(token);
}

/** Why a token was refused: a word for logs and audit, never shown to the client. */
export class OidcTokenError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/**
 * The issuer and audiences of a token, read WITHOUT verifying it: only for finding which
 * connection should verify it. Undefined when the payload is not a JWT claims set with them.
 */
export function peekIssuerAndAudiences(token: string): { issuer: string; audiences: string[] } | undefined {
  let payload: JWTPayload;
  try {
    payload = decodeJwt(token);
  } catch {
    return undefined;
  }
  const aud = payload.aud;
  const audiences = typeof aud === "string" ? [aud] : Array.isArray(aud) && aud.every((a) => typeof a === "string") ? aud : undefined;
  if (typeof payload.iss !== "string" || !audiences || audiences.length === 0 || audiences.length > 16) return undefined;
  return { issuer: payload.iss, audiences };
}

/** Fetches an issuer's current JWKS (discovery document, then jwks_uri). */
export type IssuerKeyFetcher = (issuer: string) => Promise<JSONWebKeySet>;

export interface IssuerKeyCacheOptions {
  /** Keys older than this are refetched before use (the old ones serve if that fails). */
  maxAgeMs: number;
  /** At most one fetch per issuer within this period, whatever the tokens ask for. */
  cooldownMs: number;
  maxIssuers: number;
}

interface CachedKeys {
  keySet?: JWTVerifyGetKey;
  fetchedAt: number;
  attemptedAt: number;
  pending?: Promise<JWTVerifyGetKey | undefined>;
}

const DEFAULTS: IssuerKeyCacheOptions = { maxAgeMs: 10 * 60_000, cooldownMs: 30_000, maxIssuers: 10_000 };

export class IssuerKeyCache {
  private readonly issuers = new Map<string, CachedKeys>();
  private readonly options: IssuerKeyCacheOptions;

  constructor(
    private readonly fetchKeys: IssuerKeyFetcher,
    private readonly clock: Clock,
    options: Partial<IssuerKeyCacheOptions> = {},
    private readonly onFetchError: (issuer: string, err: Error) => void = () => {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /**
   * Verifies signature, algorithm, iss, aud, exp, nbf and iat (at most CLOCK_SKEW_SECONDS of
   * skew) and the presence of sub. Throws OidcTokenError.
   */
  async verify(token: string, expected: { issuer: string; audience: string }): Promise<JWTPayload & { sub: string }> {
    const current = await this.keysFor(expected.issuer);
    if (!current) throw new OidcTokenError("issuer_unavailable");
    let payload: JWTPayload;
    try {
      payload = await this.verifyWith(token, current, expected);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw toTokenError(err);
      // An unknown kid may be a key the issuer has just rotated in; the cooldown keeps a flood
      // of made-up kids from turning into a flood of fetches.
      const refreshed = await this.refresh(expected.issuer);
      if (!refreshed) throw new OidcTokenError("unknown_key");
      try {
        payload = await this.verifyWith(token, refreshed, expected);
      } catch (retryErr) {
        throw toTokenError(retryErr);
      }
    }
    const now = Math.floor(this.clock.now().getTime() / 1000);
    if (typeof payload.sub !== "string" || payload.sub.length === 0 || payload.sub.length > 255) throw new OidcTokenError("missing_claim");
    if (typeof payload.iat !== "number" || payload.iat > now + CLOCK_SKEW_SECONDS) throw new OidcTokenError("invalid_claims");
    return payload as JWTPayload & { sub: string };
  }

  private async verifyWith(token: string, keySet: JWTVerifyGetKey, expected: { issuer: string; audience: string }): Promise<JWTPayload> {
    const { payload } = await jwtVerify(token, keySet, {
      algorithms: OIDC_ALGORITHMS,
      issuer: expected.issuer,
      audience: expected.audience,
      requiredClaims: ["exp", "nbf", "iat", "sub"],
      clockTolerance: CLOCK_SKEW_SECONDS,
      currentDate: this.clock.now(),
    });
    return payload;
  }

  /**
   * The cached keys. Stale ones still serve while a refetch runs in the background, so that a
   * slow issuer does not hold up every request each time the cache ages out.
   */
  private async keysFor(issuer: string): Promise<JWTVerifyGetKey | undefined> {
    const entry = this.issuers.get(issuer);
    if (!entry?.keySet) return this.refresh(issuer);
    if (this.clock.now().getTime() - entry.fetchedAt >= this.options.maxAgeMs) void this.refresh(issuer);
    return entry.keySet;
  }

  /** Fetches the issuer's keys unless another fetch runs or ran within the cooldown. */
  private refresh(issuer: string): Promise<JWTVerifyGetKey | undefined> {
    let entry = this.issuers.get(issuer);
    if (entry?.pending) return entry.pending;
    const now = this.clock.now().getTime();
    if (entry && now - entry.attemptedAt < this.options.cooldownMs) return Promise.resolve(undefined);
    if (!entry) {
      if (this.issuers.size >= this.options.maxIssuers) this.issuers.delete(this.issuers.keys().next().value!);
      entry = { fetchedAt: 0, attemptedAt: now };
      this.issuers.set(issuer, entry);
    }
    entry.attemptedAt = now;
    const target = entry;
    target.pending = this.fetchKeys(issuer)
      .then((jwks) => {
        target.keySet = createLocalJWKSet({ keys: jwks.keys.filter((k) => typeof k.kty === "string" && ASYMMETRIC_KEY_TYPES.has(k.kty)) });
        target.fetchedAt = this.clock.now().getTime();
        return target.keySet;
      })
      .catch((err: Error) => {
        this.onFetchError(issuer, err);
        return undefined;
      })
      .finally(() => {
        target.pending = undefined;
      });
    return target.pending;
  }
}

function toTokenError(err: unknown): OidcTokenError {
  if (err instanceof OidcTokenError) return err;
  if (err instanceof errors.JWTExpired) return new OidcTokenError("expired");
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.reason === "missing") return new OidcTokenError("missing_claim");
    if (err.claim === "nbf") return new OidcTokenError("not_yet_valid");
    return new OidcTokenError("invalid_claims");
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return new OidcTokenError("bad_signature");
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return new OidcTokenError("algorithm_not_allowed");
  if (err instanceof errors.JWKSNoMatchingKey) return new OidcTokenError("unknown_key");
  if (err instanceof errors.JWKSMultipleMatchingKeys) return new OidcTokenError("ambiguous_key");
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return new OidcTokenError("malformed");
  return new OidcTokenError("invalid_token");
}
