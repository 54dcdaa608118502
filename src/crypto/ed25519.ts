// Ed25519 for the audit checkpoints: the server signs with a private key that exists only sealed
// at rest and as a KeyObject in memory; anyone holding the public key verifies, offline.
import { createPrivateKey, createPublicKey, generateKeyPairSync, hash, sign, verify, type KeyObject } from "node:crypto";

/** A new private key as PKCS#8 DER, to be sealed at once. */
export function newEd25519PrivateKey(): Buffer {
  return generateKeyPairSync("ed25519").privateKey.export({ format: "der", type: "pkcs8" });
}

export class Ed25519PublicKey {
  /** The key as SubjectPublicKeyInfo DER, the bytes its ID is taken from. */
  readonly spki: Buffer;
  /** The first 16 bytes of SHA-256 over the SPKI DER, in hex: names the key in every checkpoint. */
  readonly keyId: string;

  constructor(private readonly key: KeyObject) {
    this.spki = key.export({ format: "der", type: "spki" });
    this.keyId = hash("sha256", this.spki, "hex").slice(0, 32);
  }

  pem(): string {
    return this.key.export({ format: "pem", type: "spki" }).toString();
  }

  verify(message: Buffer, signature: Buffer): boolean {
    try {
      return verify(null, message, this.key, signature);
    } catch {
      return false;
    }
  }
}

export class Ed25519Signer {
  readonly publicKey: Ed25519PublicKey;
  private readonly key: KeyObject;

  /** Takes the PKCS#8 DER and zeroes it: from here on the key lives in the KeyObject only. */
  constructor(pkcs8: Buffer) {
    try {
      this.key = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
    } finally {
      pkcs8.fill(0);
    }
    if (this.key.asymmetricKeyType !== "ed25519") throw new Error("The audit signing key is not an Ed25519 key");
    this.publicKey = new Ed25519PublicKey(createPublicKey(this.key));
  }

  sign(message: Buffer): Buffer {
    return sign(null, message, this.key);
  }
}

export class PublicKeyFormatError extends Error {}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * An Ed25519 public key written as PEM ("-----BEGIN PUBLIC KEY-----") or as the base64 of its
 * SPKI DER. Anything else, a private key included, is refused.
 */
export function parseEd25519PublicKey(text: string): Ed25519PublicKey {
  const trimmed = text.trim();
  let key: KeyObject;
  try {
    if (trimmed.startsWith("-----BEGIN PUBLIC KEY-----")) key = createPublicKey({ key: trimmed, format: "pem" });
    else if (BASE64.test(trimmed)) key = createPublicKey({ key: Buffer.from(trimmed, "base64"), format: "der", type: "spki" });
    else throw new PublicKeyFormatError("");
  } catch {
    throw new PublicKeyFormatError("not a public key: give a PEM public key (-----BEGIN PUBLIC KEY-----) or the base64 of its SPKI DER");
  }
  if (key.asymmetricKeyType !== "ed25519") throw new PublicKeyFormatError(`not an Ed25519 key (it is ${key.asymmetricKeyType ?? "of an unknown type"})`);
  return new Ed25519PublicKey(key);
}
