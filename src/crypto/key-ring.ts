// Versioned master keys (KEKs). Data keys and the API key pepper are wrapped by the newest
// version; older versions stay readable until the CLI re-wraps everything.
import type { MasterKey } from "../config.js";
import { DecryptionError, open, seal } from "./aead.js";

/** A master key problem that stops the server from starting: the message tells the operator what to do. */
export class KeyRingError extends Error {}

export class MissingMasterKeyError extends KeyRingError {
  readonly versions: number[];
  constructor(versions: number | number[]) {
    const list = [versions].flat().sort((a, b) => a - b);
    const many = list.length > 1;
    super(
      `Master key version${many ? "s" : ""} ${list.join(", ")} ${many ? "are" : "is"} not configured, but data is still wrapped with ${many ? "them" : "it"}. ` +
        `Add ${many ? "them" : "it"} to PORTCULLIS_MASTER_KEYS (then run portcullis rotate-master-key before removing ${many ? "them" : "it"}).`,
    );
    this.versions = list;
  }
}

export class MasterKeyMismatchError extends KeyRingError {
  constructor(
    readonly version: number,
    context: string,
  ) {
    super(
      `Master key version ${version} does not open ${context}: the key configured as version ${version} is not the one it was wrapped with, or the stored key was altered.`,
    );
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
    try {
      return open(kek, w.wrapped, aad(context, w.kekVersion));
    } catch (err) {
      if (err instanceof DecryptionError) throw new MasterKeyMismatchError(w.kekVersion, context);
      throw err;
    }
  }
}

function aad(context: string, version: number): Buffer {
  return Buffer.from(`portcullis:wrap:v1:${version}:${context}`, "utf8");
}
