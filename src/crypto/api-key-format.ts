// The API key format: pcl_<keyId>_<secret><checksum>.
// keyId is the random part of the ApiKey's ID (public); the secret has about 190 bits; the
// checksum (CRC32 of everything before it, 6 base62 characters) lets secret scanners and our
// own front door reject a mistyped or made-up key without reading the database.
import { crc32 } from "node:zlib";
import { ID_RANDOM_LENGTH } from "../ids.js";
import { encodeBase62, randomBase62 } from "./random.js";

export const API_KEY_PREFIX = "pcl_";
const SECRET_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
const PATTERN = new RegExp(
  `^pcl_([0-9A-Za-z]{${ID_RANDOM_LENGTH}})_([0-9A-Za-z]{${SECRET_LENGTH}})([0-9A-Za-z]{${CHECKSUM_LENGTH}})$`,
);
export const API_KEY_LENGTH = API_KEY_PREFIX.length + ID_RANDOM_LENGTH + 1 + SECRET_LENGTH + CHECKSUM_LENGTH;

export interface ParsedApiKey {
  /** The ApiKey's ID, ak_<keyId>. */
  apiKeyId: string;
  secret: string;
}

function checksum(body: string): string {
  return encodeBase62(crc32(body), CHECKSUM_LENGTH);
}

export function formatApiKey(apiKeyId: string, secret: string): string {
  const body = `${API_KEY_PREFIX}${apiKeyId.slice(3)}_${secret}`;
  return body + checksum(body);
}

export function newApiKeySecret(): string {
  return randomBase62(SECRET_LENGTH);
}

/** A complete new key for an ID minted elsewhere (ak_...). */
export function generateApiKey(apiKeyId: string): { token: string; secret: string } {
  const secret = newApiKeySecret();
  return { token: formatApiKey(apiKeyId, secret), secret };
}

/** Undefined for anything that is not a well-formed key with a valid checksum. */
export function parseApiKey(token: string): ParsedApiKey | undefined {
  if (token.length !== API_KEY_LENGTH) return undefined;
  const match = PATTERN.exec(token);
  if (!match) return undefined;
  if (checksum(token.slice(0, -CHECKSUM_LENGTH)) !== match[3]) return undefined;
  return { apiKeyId: `ak_${match[1]}`, secret: match[2] };
}

/** The non-secret start of a key that lets a person recognise it in a list. */
export function apiKeyDisplayPrefix(apiKeyId: string): string {
  return `${API_KEY_PREFIX}${apiKeyId.slice(3, 11)}`;
}
