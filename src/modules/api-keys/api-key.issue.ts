// Creating a key row with its first secret. Callers check permissions and record the audit
// event; this only writes, inside their transaction.
import { apiKeyDisplayPrefix, generateApiKey, parseApiKey } from "../../crypto/api-key-format.js";
import { hashApiKeySecret } from "../../crypto/hashing.js";
import { apiKeys, apiKeySecrets } from "../../db/schema.js";
import type { Queryable } from "../../db/types.js";
import { newId } from "../../ids.js";

export interface IssueApiKey {
  organizationId: string;
  workspaceId: string | null;
  name: string;
  ownerUserId: string | null;
  createdBy: { kind: "USER" | "API_KEY"; id: string } | null;
  expiresAt: Date | null;
  /** A complete key chosen in advance (PORTCULLIS_BOOTSTRAP_KEY); otherwise one is generated. */
  presetToken?: string;
}

export function issueApiKey(tx: Queryable, pepper: Buffer, input: IssueApiKey, at: Date): { apiKeyId: string; token: string } {
  let apiKeyId: string;
  let token: string;
  let secret: string;
  if (input.presetToken) {
    const parsed = parseApiKey(input.presetToken);
    if (!parsed) throw new Error("The preset API key is not a valid Portcullis key");
    ({ apiKeyId, secret } = parsed);
    token = input.presetToken;
  } else {
    apiKeyId = newId("ApiKey");
    ({ token, secret } = generateApiKey(apiKeyId));
  }
  tx.insert(apiKeys)
    .values({
      id: apiKeyId,
      organizationId: input.organizationId,
      workspaceId: input.workspaceId,
      name: input.name,
      prefix: apiKeyDisplayPrefix(apiKeyId),
      ownerUserId: input.ownerUserId,
      createdByKind: input.createdBy?.kind ?? null,
      createdById: input.createdBy?.id ?? null,
      expiresAt: input.expiresAt,
      createdAt: at,
    })
    .run();
  insertApiKeySecret(tx, pepper, apiKeyId, secret, at);
  return { apiKeyId, token };
}

export function insertApiKeySecret(tx: Queryable, pepper: Buffer, apiKeyId: string, secret: string, at: Date): void {
  tx.insert(apiKeySecrets)
    .values({ id: newId("ApiKeySecret"), apiKeyId, hash: hashApiKeySecret(pepper, apiKeyId, secret), createdAt: at })
    .run();
}
