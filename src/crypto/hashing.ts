import { createHmac, hash, timingSafeEqual } from "node:crypto";

/** The stored form of an API key secret: HMAC-SHA256 under the server's pepper. */
export function hashApiKeySecret(pepper: Buffer, apiKeyId: string, secret: string): Buffer {
  return createHmac("sha256", pepper).update(`pcl-v1:${apiKeyId}:${secret}`).digest();
}

export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function sha256Hex(text: string): string {
  // The one-shot form: no Hash object per audit event.
  return hash("sha256", text, "hex");
}
