// One door check for every way in (GraphQL over HTTP, the WebSocket, the OpenAI wire format):
// a bearer API key or OIDC JWT becomes a principal, or one uniform refusal. Failed attempts are
// audited for the organization they name and counted per address; while an address is locked
// out its failures are refused before they are audited, so that a flood of bad credentials
// cannot grow an organization's audit log without bound.
import type { ApiKeyAuthenticator, AuthResult } from "../auth/api-key-authenticator.js";
import type { AuthFailureLimiter } from "../auth/failure-limiter.js";
import type { OidcAuthenticator, OidcAuthResult } from "../auth/oidc-authenticator.js";
import type { Principal } from "../auth/principal.js";
import { looksLikeJwt } from "../crypto/oidc-token.js";
import type { AuditedWriter } from "../modules/audit/audited-write.js";
import type { Limit } from "../metrics/metrics.js";
import type { AbuseLimits } from "./abuse-limits.js";

export interface DoorRequest {
  requestId: string;
  ip: string;
  userAgent: string | null;
}

export type DoorResult =
  | { ok: true; principal: Principal }
  /** 401 with the same body whatever the cause. */
  | { ok: false; status: 401; reason: string }
  /** 429 while the address or the principal is over a limit: which one, and what to tell the caller. */
  | { ok: false; status: 429; reason: string; limit: Limit; retryAfterSeconds: number; message: string };

const LOCKED_OUT = "Too many failed authentications from this address";


export class Door {
  constructor(
    private readonly apiKeys: ApiKeyAuthenticator,
    private readonly oidc: OidcAuthenticator,
    private readonly limiter: AuthFailureLimiter,
    private readonly audit: AuditedWriter,
    private readonly abuse: AbuseLimits,
  ) {}

  async check(authorization: string | undefined, request: DoorRequest): Promise<DoorResult> {
    // Before anything is read or looked up: a flooding address costs one counter lookup per request.
    const flooding = this.abuse.addressRefused(request.ip);
    if (flooding !== undefined) return { ok: false, status: 429, reason: "address_rate", limit: "address_rate", retryAfterSeconds: flooding, message: "Too many failing requests from this address" };
    const auth = await this.authenticate(authorization, request);
    if (auth.ok) {
      const busy = this.abuse.principalRefused(auth.principal.id);
      if (busy !== undefined) return { ok: false, status: 429, reason: "principal_rate", limit: "principal_rate", retryAfterSeconds: busy, message: "Too many requests from this principal" };
      return auth;
    }
    const locked = this.limiter.lockedFor(request.ip);
    if (locked !== undefined) return { ok: false, status: 429, reason: auth.reason, limit: "auth_lockout", retryAfterSeconds: locked, message: LOCKED_OUT };
    if (auth.organizationId) {
      const oidc = "via" in auth;
      this.audit.record({
        organizationId: auth.organizationId,
        actorKind: null,
        actorId: null,
        action: "authenticate",
        targetKind: oidc ? (auth.userId ? "User" : null) : "ApiKey",
        targetId: (oidc ? auth.userId : auth.apiKeyId) ?? null,
        outcome: "DENIED",
        ip: request.ip,
        userAgent: request.userAgent,
        requestId: request.requestId,
        details: { reason: auth.reason },
      });
    }
    const retryAfter = this.limiter.fail(request.ip);
    if (retryAfter !== undefined) return { ok: false, status: 429, reason: auth.reason, limit: "auth_lockout", retryAfterSeconds: retryAfter, message: LOCKED_OUT };
    return { ok: false, status: 401, reason: auth.reason };
  }

  private async authenticate(authorization: string | undefined, request: DoorRequest): Promise<AuthResult | OidcAuthResult> {
    // One shape of failure for every cause: nothing about the header is echoed or hinted.
    if (!authorization || authorization.length > 8192) return { ok: false, reason: "malformed" };
    const match = /^Bearer ([\x21-\x7e]+)$/.exec(authorization);
    if (!match) return { ok: false, reason: "malformed" };
    const token = match[1];
    if (!token.startsWith("pcl_") && looksLikeJwt(token)) return this.oidc.authenticate(token, request);
    return this.apiKeys.authenticate(token);
  }
}
