// Versioned master keys (KEKs). Data keys and the API key pepper are wrapped by the newest
// version; older versions stay readable until the CLI re-wraps everything.
import type { MasterKey } from "../config.js";
import { open, seal } from "./aead.js";

export class MissingMasterKeyError extends Error {
  constructor(readonly version: number) {
    super(`Master key version ${version} is not configured, but data is still wrapped with it. Add it to PORTCULLIS_MASTER_KEYS.`);
  }
}

export interface Wrapped {
  kekVersion: number;
  wrapped: Buffer;
}

export class KeyRing {
  private readonly keys: Map<number, Buffer>;
  readonly activeVersion: number;

  constructor(masterKeys: MasterKey[]) {
    if (masterKeys.length === 0) throw new Error("A key ring needs at least one master key");
    for (const k of masterKeys) if (k.key.length !== 32) throw new Error(`Master key version ${k.version} is not 32 bytes`);
    this.keys = new Map(masterKeys.map((k) => [k.version, k.key]));
    this.activeVersion = Math.max(...this.keys.keys());
  }

  has(version: number): boolean {
    return this.keys.has(version);
  }

  /** context names what is wrapped (e.g. "dek:org_..."), so a wrapped key cannot be swapped. */
  wrap(plaintextKey: Buffer, context: string): Wrapped {
    const kek = this.keys.get(this.activeVersion)!;
    return { kekVersion: this.activeVersion, wrapped: seal(kek, plaintextKey, aad(context, this.activeVersion)) };
  }

  unwrap(w: Wrapped, context: string): Buffer {
    const kek = this.keys.get(w.kekVersion);
    if (!kek) throw new MissingMasterKeyError(w.kekVersion);
    return open(kek, w.wrapped, aad(context, w.kekVersion));
  }
}

function aad(context: string, version: number): Buffer {
  return Buffer.from(`portcullis:wrap:v1:${version}:${context}`, "utf8");
}
