// AES-256-GCM with a versioned envelope: 0x01 | nonce (12) | tag (16) | ciphertext.
// The additional data binds a ciphertext to the record it belongs to, so a blob copied to
// another row does not open.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

const ENVELOPE_V1 = 0x01;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + NONCE_BYTES + TAG_BYTES;

export class DecryptionError extends Error {
  constructor(reason: string) {
    super(`Decryption failed: ${reason}`);
  }
}

export function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  if (key.length !== 32) throw new Error("AES-256-GCM needs a 32-byte key");
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([ENVELOPE_V1]), nonce, cipher.getAuthTag(), ciphertext]);
}

export function open(key: Buffer, envelope: Buffer, aad: Buffer): Buffer {
  if (key.length !== 32) throw new DecryptionError("AES-256-GCM needs a 32-byte key");
  if (envelope.length < HEADER_BYTES) throw new DecryptionError("envelope too short");
  if (envelope[0] !== ENVELOPE_V1) throw new DecryptionError(`unknown envelope version ${envelope[0]}`);
  const nonce = envelope.subarray(1, 1 + NONCE_BYTES);
  const tag = envelope.subarray(1 + NONCE_BYTES, HEADER_BYTES);
  const decipher = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(envelope.subarray(HEADER_BYTES)), decipher.final()]);
  } catch {
    throw new DecryptionError("authentication tag mismatch (wrong key, tampered data or moved ciphertext)");
  }
}
