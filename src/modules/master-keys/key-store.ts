// Key material above the database: the master key ring, the API key pepper, the audit signing
// key and each organization's data key (wrapped at rest, cached unwrapped in memory).
import { eq, sql } from "drizzle-orm";
import { Ed25519Signer, newEd25519PrivateKey } from "../../crypto/ed25519.js";
import { randomKey } from "../../crypto/random.js";
import { KeyRing, MissingMasterKeyError } from "../../crypto/key-ring.js";
import type { Db } from "../../db/client.js";
import { dataKeys, serverSecrets } from "../../db/schema.js";
import type { Queryable } from "../../db/types.js";

const PEPPER = "api_key_pepper";
const AUDIT_SIGNING_KEY = "audit_signing_key";

export class KeyStore {
  private pepperValue?: Buffer;
  private auditSignerValue?: Ed25519Signer;
  private readonly dataKeyCache = new Map<string, Buffer>();

  constructor(
    private readonly db: Db,
    readonly keyRing: KeyRing,
  ) {}

  /**
   * Refuses to run when something is wrapped with a master key version that is not configured,
   * or with one whose configured key is wrong: one wrapped key per version in use must open.
   */
  assertAllVersionsAvailable(): void {
    const versions = this.db.all<{ v: number }>(
      sql`SELECT DISTINCT kek_version AS v FROM data_keys UNION SELECT DISTINCT kek_version FROM server_secrets`,
    );
    const missing = versions.map((r) => r.v).filter((v) => !this.keyRing.has(v));
    if (missing.length > 0) throw new MissingMasterKeyError(missing);
    const samples = this.db.all<{ organizationId: string | null; name: string | null; kekVersion: number; wrapped: Buffer }>(
      sql`SELECT organization_id AS organizationId, NULL AS name, kek_version AS kekVersion, wrapped FROM data_keys
          WHERE rowid IN (SELECT min(rowid) FROM data_keys GROUP BY kek_version)
          UNION ALL SELECT NULL, name, kek_version, wrapped FROM server_secrets`,
    );
    for (const s of samples) this.keyRing.unwrap(s, s.organizationId ? dekContext(s.organizationId) : s.name!).fill(0);
  }

  /** The pepper for API key hashes, made at first start and kept wrapped by the master key. */
  pepper(): Buffer {
    this.pepperValue ??= this.serverSecret(PEPPER, randomKey);
    return this.pepperValue;
  }

  /** The Ed25519 key that signs audit checkpoints (PKCS#8), made at first start and kept wrapped like the pepper. */
  auditSigner(): Ed25519Signer {
    this.auditSignerValue ??= new Ed25519Signer(this.serverSecret(AUDIT_SIGNING_KEY, newEd25519PrivateKey));
    return this.auditSignerValue;
  }

  private serverSecret(name: string, make: () => Buffer): Buffer {
    const row = this.db.select().from(serverSecrets).where(eq(serverSecrets.name, name)).get();
    if (row) return this.keyRing.unwrap(row, name);
    const secret = make();
    const w = this.keyRing.wrap(secret, name);
    secret.fill(0);
    this.db.insert(serverSecrets).values({ name, ...w, updatedAt: new Date() }).onConflictDoNothing().run();
    // Another process may have won the race: read back whatever is stored.
    const stored = this.db.select().from(serverSecrets).where(eq(serverSecrets.name, name)).get()!;
    return this.keyRing.unwrap(stored, name);
  }

  createDataKey(tx: Queryable, organizationId: string, at: Date): void {
    const key = randomKey();
    tx.insert(dataKeys).values({ organizationId, ...this.keyRing.wrap(key, dekContext(organizationId)), createdAt: at }).run();
  }

  /** The organization's data key, unwrapped. Only the code that seals or opens secrets calls this. */
  dataKey(organizationId: string): Buffer {
    const cached = this.dataKeyCache.get(organizationId);
    if (cached) return cached;
    const row = this.db.select().from(dataKeys).where(eq(dataKeys.organizationId, organizationId)).get();
    if (!row) throw new Error(`Organization ${organizationId} has no data key`);
    const key = this.keyRing.unwrap(row, dekContext(organizationId));
    this.dataKeyCache.set(organizationId, key);
    return key;
  }

  /** Re-wraps one organization's data key under the newest master key. True when it changed. */
  rewrapDataKey(tx: Queryable, organizationId: string, at: Date): boolean {
    const row = tx.select().from(dataKeys).where(eq(dataKeys.organizationId, organizationId)).get();
    if (!row) throw new Error(`Organization ${organizationId} has no data key`);
    if (row.kekVersion === this.keyRing.activeVersion) return false;
    const key = this.keyRing.unwrap(row, dekContext(organizationId));
    tx.update(dataKeys)
      .set({ ...this.keyRing.wrap(key, dekContext(organizationId)), rotatedAt: at })
      .where(eq(dataKeys.organizationId, organizationId))
      .run();
    return true;
  }

  rewrapPepper(tx: Queryable, at: Date): boolean {
    return this.rewrapServerSecret(tx, PEPPER, at);
  }

  /** The signing key itself stays the same: checkpoints signed before a rotation still verify. */
  rewrapAuditSigningKey(tx: Queryable, at: Date): boolean {
    return this.rewrapServerSecret(tx, AUDIT_SIGNING_KEY, at);
  }

  private rewrapServerSecret(tx: Queryable, name: string, at: Date): boolean {
    const row = tx.select().from(serverSecrets).where(eq(serverSecrets.name, name)).get();
    if (!row || row.kekVersion === this.keyRing.activeVersion) return false;
    const secret = this.keyRing.unwrap(row, name);
    tx.update(serverSecrets).set({ ...this.keyRing.wrap(secret, name), updatedAt: at }).where(eq(serverSecrets.name, name)).run();
    secret.fill(0);
    return true;
  }

  /** Forget a shredded organization's key. */
  forget(organizationId: string): void {
    this.dataKeyCache.delete(organizationId);
  }
}

function dekContext(organizationId: string): string {
  return `dek:${organizationId}`;
}
