// The one place where provider secrets are sealed and opened. A secret is sealed with its
// organization's data key (AES-256-GCM, fresh 96-bit nonce, 128-bit tag, versioned envelope)
// and additional data that binds it to its virtual key, secret version and endpoint, so it
// opens only in its own row, at its own version, for the host it was stored for.
import canonicalize from "canonicalize";
import { and, eq, sql } from "drizzle-orm";
import { DecryptionError, open, seal } from "../../crypto/aead.js";
import { MarkedCache, type ChangeMark } from "../../db/change-mark.js";
import type { Db } from "../../db/client.js";
import { virtualKeys } from "../../db/schema.js";
import type { KeyStore } from "../master-keys/key-store.js";
import { hostPickingOptions, type ProviderOptions } from "./provider-options.js";
import type { Provider } from "./virtual-key.type.js";

/** Where a secret may be sent: the provider's own endpoint, or baseUrl when set. */
export interface SecretEndpoint {
  provider: Provider;
  baseUrl: string | null;
  providerOptions: ProviderOptions | null;
}

export interface SecretBinding {
  virtualKeyId: string;
  secretVersion: number;
  endpoint: SecretEndpoint;
}

export interface OpenedSecret extends SecretBinding {
  secret: string;
}

export class SecretUnavailableError extends Error {
  constructor(virtualKeyId: string, reason: string) {
    super(`The secret of virtual key ${virtualKeyId} cannot be opened: ${reason}`);
  }
}

export class SecretBox {
  // Prepared once: building the query on every call costs more than the decryption (bench/secrets.ts).
  private readonly sealedRow;

  /**
   * Sealed rows (ciphertext and what it is bound to, never a plaintext) by virtual key, valid
   * until the change mark moves: reading and binding the row cost as much as opening it.
   */
  private readonly sealedCache: MarkedCache<{ binding: SecretBinding; sealedSecret: Buffer; aad: Buffer }>;

  constructor(
    db: Db,
    private readonly keys: KeyStore,
    mark: ChangeMark,
  ) {
    this.sealedCache = new MarkedCache(mark);
    this.sealedRow = db
      .select({
        provider: virtualKeys.provider,
        baseUrl: virtualKeys.baseUrl,
        providerOptions: virtualKeys.providerOptions,
        secretVersion: virtualKeys.secretVersion,
        sealedSecret: virtualKeys.sealedSecret,
      })
      .from(virtualKeys)
      .where(and(eq(virtualKeys.organizationId, sql.placeholder("organizationId")), eq(virtualKeys.id, sql.placeholder("virtualKeyId"))))
      .prepare();
  }

  /** The envelope to store in the virtual key's row. */
  seal(organizationId: string, binding: SecretBinding, secret: string): Buffer {
    const plaintext = Buffer.from(secret, "utf8");
    try {
      return seal(this.keys.dataKey(organizationId), plaintext, additionalData(organizationId, binding));
    } finally {
      plaintext.fill(0);
    }
  }

  /**
   * For the provider-calling service only: opens a virtual key's secret and hands it, with the
   * endpoint it is bound to, to `use` for the duration of one call. Throws when the ciphertext
   * was moved, cut or altered, when the row's endpoint or version changed underneath it, and
   * when its master key version is missing (MissingMasterKeyError) or wrong.
   */
  async openSecret<T>(organizationId: string, virtualKeyId: string, use: (opened: OpenedSecret) => T | Promise<T>): Promise<T> {
    const { binding, sealedSecret, aad } = this.sealed(organizationId, virtualKeyId);
    let plaintext: Buffer;
    try {
      plaintext = open(this.keys.dataKey(organizationId), sealedSecret, aad);
    } catch (err) {
      if (err instanceof DecryptionError) throw new SecretUnavailableError(virtualKeyId, err.message);
      throw err;
    }
    try {
      return await use({ ...binding, secret: plaintext.toString("utf8") });
    } finally {
      plaintext.fill(0);
    }
  }

  private sealed(organizationId: string, virtualKeyId: string) {
    return this.sealedCache.get(`${organizationId}\u0000${virtualKeyId}`, () => {
      const row = this.sealedRow.get({ organizationId, virtualKeyId });
      if (!row) throw new SecretUnavailableError(virtualKeyId, "no such virtual key in this organization");
      const binding: SecretBinding = {
        virtualKeyId,
        secretVersion: row.secretVersion,
        endpoint: { provider: row.provider as Provider, baseUrl: row.baseUrl, providerOptions: (row.providerOptions as ProviderOptions | null) ?? null },
      };
      return { binding, sealedSecret: row.sealedSecret, aad: additionalData(organizationId, binding) };
    })!;
  }
}

/** RFC 8785 canonical JSON of everything the ciphertext is bound to. */
function additionalData(organizationId: string, b: SecretBinding): Buffer {
  const bound = {
    purpose: "portcullis:virtual-key-secret:v1",
    organizationId,
    virtualKeyId: b.virtualKeyId,
    secretVersion: b.secretVersion,
    provider: b.endpoint.provider,
    baseUrl: b.endpoint.baseUrl,
    hostOptions: hostPickingOptions(b.endpoint.provider, b.endpoint.providerOptions),
  };
  return Buffer.from(canonicalize(bound)!, "utf8");
}
