// Turns a presented API key into a principal, or says why not (the reason is for logs and
// audit only: every failure answers the client identically).
import { and, eq, gt, isNull, or } from "drizzle-orm";
import type { Clock } from "../clock.js";
import { parseApiKey } from "../crypto/api-key-format.js";
import { constantTimeEqual, hashApiKeySecret } from "../crypto/hashing.js";
import type { Db } from "../db/client.js";
import { apiKeys, apiKeySecrets, users } from "../db/schema.js";
import type { KeyStore } from "../modules/master-keys/key-store.js";
import { loadApiKeyAccess } from "./access-loader.js";
import type { Principal } from "./principal.js";

export type AuthFailureReason = "malformed" | "unknown_key" | "bad_secret" | "revoked" | "expired" | "owner_inactive";

export type AuthResult =
  | { ok: true; principal: Principal }
  | { ok: false; reason: AuthFailureReason; apiKeyId?: string; organizationId?: string };

/** lastUsedAt is written at most this often per key, not on every request. */
const LAST_USED_WRITE_INTERVAL_MS = 60_000;

export class ApiKeyAuthenticator {
  private readonly lastUsedWritten = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly keys: KeyStore,
    private readonly clock: Clock,
  ) {}

  authenticate(token: string): AuthResult {
    const parsed = parseApiKey(token);
    if (!parsed) return { ok: false, reason: "malformed" };
    const now = this.clock.now();
    const key = this.db.select().from(apiKeys).where(eq(apiKeys.id, parsed.apiKeyId)).get();
    if (!key) return { ok: false, reason: "unknown_key" };
    const failure = (reason: AuthFailureReason): AuthResult => ({ ok: false, reason, apiKeyId: key.id, organizationId: key.organizationId });

    const presented = hashApiKeySecret(this.keys.pepper(), key.id, parsed.secret);
    const secrets = this.db
      .select({ hash: apiKeySecrets.hash })
      .from(apiKeySecrets)
      .where(and(eq(apiKeySecrets.apiKeyId, key.id), or(isNull(apiKeySecrets.expiresAt), gt(apiKeySecrets.expiresAt, now))))
      .all();
    // Compare against every live secret, so timing does not tell which one matched.
    let matched = false;
    for (const s of secrets) matched = constantTimeEqual(s.hash, presented) || matched;
    if (!matched) return failure("bad_secret");
    if (key.revokedAt) return failure("revoked");
    if (key.expiresAt && key.expiresAt.getTime() <= now.getTime()) return failure("expired");
    if (key.ownerUserId) {
      const owner = this.db.select({ status: users.status }).from(users).where(eq(users.id, key.ownerUserId)).get();
      if (!owner || owner.status !== "ACTIVE") return failure("owner_inactive");
    }
    this.touch(key.id, key.lastUsedAt, now);
    return {
      ok: true,
      principal: {
        kind: "API_KEY",
        id: key.id,
        organizationId: key.organizationId,
        access: loadApiKeyAccess(this.db, key.organizationId, key.id, key.ownerUserId),
        apiKey: { id: key.id, workspaceId: key.workspaceId, ownerUserId: key.ownerUserId },
      },
    };
  }

  private touch(apiKeyId: string, stored: Date | null, now: Date): void {
    const last = Math.max(this.lastUsedWritten.get(apiKeyId) ?? 0, stored?.getTime() ?? 0);
    if (now.getTime() - last < LAST_USED_WRITE_INTERVAL_MS) return;
    this.lastUsedWritten.set(apiKeyId, now.getTime());
    this.db.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, apiKeyId)).run();
  }
}
