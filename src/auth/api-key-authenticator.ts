// Turns a presented API key into a principal, or says why not (the reason is for logs and
// audit only: every failure answers the client identically).
import { eq } from "drizzle-orm";
import type { Clock } from "../clock.js";
import { parseApiKey } from "../crypto/api-key-format.js";
import { constantTimeEqual, hashApiKeySecret } from "../crypto/hashing.js";
import type { Db } from "../db/client.js";
import { MarkedCache, type ChangeMark } from "../db/change-mark.js";
import { apiKeys, apiKeySecrets, users } from "../db/schema.js";
import type { KeyStore } from "../modules/master-keys/key-store.js";
import { loadApiKeyAccess } from "./access-loader.js";
import type { Access } from "./access.js";
import type { Principal } from "./principal.js";

export type AuthFailureReason = "malformed" | "unknown_key" | "bad_secret" | "revoked" | "expired" | "owner_inactive";

export type AuthResult =
  | { ok: true; principal: Principal }
  | { ok: false; reason: AuthFailureReason; apiKeyId?: string; organizationId?: string };

/** lastUsedAt is written at most this often per key, not on every request. */
const LAST_USED_WRITE_INTERVAL_MS = 60_000;
const MAX_CACHED_KEYS = 10_000;

/** What authenticating a key needs from the database, valid until anything is written. */
interface CachedKey {
  key: typeof apiKeys.$inferSelect;
  secrets: { hash: Buffer; expiresAt: Date | null }[];
  ownerActive: boolean;
  access: Access;
}

export class ApiKeyAuthenticator {
  private readonly lastUsedWritten = new Map<string, number>();
  private readonly cache: MarkedCache<CachedKey>;

  /**
   * The mark tells, per request, whether anything could have changed since the cache was
   * filled (a write on this connection or a commit by another, such as the CLI), so that a
   * revocation takes effect on the very next request.
   */
  constructor(
    private readonly db: Db,
    private readonly keys: KeyStore,
    private readonly clock: Clock,
    private readonly mark: ChangeMark,
  ) {
    this.cache = new MarkedCache(mark, MAX_CACHED_KEYS);
  }

  authenticate(token: string): AuthResult {
    const parsed = parseApiKey(token);
    if (!parsed) return { ok: false, reason: "malformed" };
    const now = this.clock.now();
    const cached = this.lookup(parsed.apiKeyId);
    if (!cached) return { ok: false, reason: "unknown_key" };
    const { key } = cached;
    const failure = (reason: AuthFailureReason): AuthResult => ({ ok: false, reason, apiKeyId: key.id, organizationId: key.organizationId });

    const presented = hashApiKeySecret(this.keys.pepper(), key.id, parsed.secret);
    // Compare against every live secret, so timing does not tell which one matched.
    let matched = false;
    for (const s of cached.secrets) {
      if (s.expiresAt !== null && s.expiresAt.getTime() <= now.getTime()) continue;
      matched = constantTimeEqual(s.hash, presented) || matched;
    }
    if (!matched) return failure("bad_secret");
    if (key.revokedAt) return failure("revoked");
    if (key.expiresAt && key.expiresAt.getTime() <= now.getTime()) return failure("expired");
    if (!cached.ownerActive) return failure("owner_inactive");
    this.touch(key.id, key.lastUsedAt, now);
    return {
      ok: true,
      principal: {
        kind: "API_KEY",
        id: key.id,
        organizationId: key.organizationId,
        access: cached.access,
        apiKey: { id: key.id, workspaceId: key.workspaceId, ownerUserId: key.ownerUserId },
      },
    };
  }

  private lookup(apiKeyId: string): CachedKey | undefined {
    return this.cache.get(apiKeyId, () => this.load(apiKeyId));
  }

  private load(apiKeyId: string): CachedKey | undefined {
    const key = this.db.select().from(apiKeys).where(eq(apiKeys.id, apiKeyId)).get();
    if (!key) return undefined;
    const secrets = this.db.select({ hash: apiKeySecrets.hash, expiresAt: apiKeySecrets.expiresAt }).from(apiKeySecrets).where(eq(apiKeySecrets.apiKeyId, key.id)).all();
    let ownerActive = true;
    if (key.ownerUserId) {
      const owner = this.db.select({ status: users.status }).from(users).where(eq(users.id, key.ownerUserId)).get();
      ownerActive = owner?.status === "ACTIVE";
    }
    return { key, secrets, ownerActive, access: loadApiKeyAccess(this.db, key.organizationId, key.id, key.ownerUserId) };
  }

  private touch(apiKeyId: string, stored: Date | null, now: Date): void {
    const last = Math.max(this.lastUsedWritten.get(apiKeyId) ?? 0, stored?.getTime() ?? 0);
    if (now.getTime() - last < LAST_USED_WRITE_INTERVAL_MS) return;
    this.lastUsedWritten.set(apiKeyId, now.getTime());
    // Nothing cached depends on lastUsedAt (the throttle above keeps its own time).
    this.mark.untracked(() => this.db.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, apiKeyId)).run());
  }
}
