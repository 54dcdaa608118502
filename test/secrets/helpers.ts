// Shared steps of the secrets tests: GraphQL documents, seeds for rows whose modules are not
// built yet (policies, routes, custom roles), and scanning the data directory for bytes.
import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { policies, roleBindings, roles, routes, routeTargets } from "../../src/db/schema.js";
import { newId } from "../../src/ids.js";
import { issueApiKey } from "../../src/modules/api-keys/api-key.issue.js";
import type { TestServer } from "../harness/server.js";

export const VK_FIELDS = `id name slug provider baseUrl providerOptions secretHint secretVersion createdAt updatedAt lastUsedAt workspace { id } policies { id name }`;

export const CREATE_VK = `mutation Create($input: CreateVirtualKeyInput!) { createVirtualKey(input: $input) { ${VK_FIELDS} } }`;
export const UPDATE_VK = `mutation Update($input: UpdateVirtualKeyInput!) { updateVirtualKey(input: $input) { ${VK_FIELDS} } }`;
export const ROTATE_VK = `mutation Rotate($id: ID!, $secret: String!, $baseUrl: String, $providerOptions: JSON) {
  rotateVirtualKeySecret(id: $id, secret: $secret, baseUrl: $baseUrl, providerOptions: $providerOptions) { ${VK_FIELDS} } }`;
export const DELETE_VK = `mutation Delete($id: ID!) { deleteVirtualKey(id: $id) { deletedId } }`;
// Lists ask for less: the cost limit multiplies each nested list by its page size.
export const LIST_VK = `query List($filter: VirtualKeyFilter, $first: Int, $after: String) {
  virtualKeys(filter: $filter, first: $first, after: $after) { nodes { id name provider secretHint secretVersion workspace { id } } pageInfo { hasNextPage endCursor } totalCount } }`;
export const NODE = `query Node($id: ID!) { node(id: $id) { id ... on VirtualKey { ${VK_FIELDS} } } }`;

/** A provider-looking secret that appears nowhere else. */
export function canary(label = "canary"): string {
  return `sk-${label}-${randomBytes(24).toString("hex")}`;
}

/** An API key holding exactly these permissions, organization-wide or in one workspace. */
export function customKey(t: TestServer, permissions: string[], workspaceId: string | null = null, organizationId = t.organizationId): string {
  const { db } = t.server.database;
  const at = t.clock.now();
  const roleId = newId("Role");
  db.insert(roles).values({ id: roleId, organizationId, name: `custom-${roleId}`, description: null, permissions, builtIn: false, createdAt: at, updatedAt: at }).run();
  const issued = issueApiKey(db, t.server.services.keys.pepper(), { organizationId, workspaceId, name: "custom key", ownerUserId: null, createdBy: null, expiresAt: null }, at);
  db.insert(roleBindings).values({ id: newId("RoleBinding"), organizationId, roleId, principalKind: "API_KEY", principalId: issued.apiKeyId, workspaceId, createdAt: at }).run();
  return issued.token;
}

export function insertPolicy(t: TestServer, name: string, workspaceId: string | null = null, organizationId = t.organizationId): string {
  const id = newId("Policy");
  const at = t.clock.now();
  t.server.database.db
    .insert(policies)
    .values({ id, organizationId, workspaceId, name, description: null, allowedModels: null, deniedModels: [], requestsPerMinute: 60, tokensPerMinute: null, budgetLimitUsd: null, budgetPeriod: null, allowedIpRanges: null, createdAt: at, updatedAt: at })
    .run();
  return id;
}

/** A route targeting the virtual key, as the routes module will store one. */
export function insertRoute(t: TestServer, virtualKeyId: string, organizationId = t.organizationId): string {
  const id = newId("Route");
  const at = t.clock.now();
  const { db } = t.server.database;
  db.insert(routes).values({ id, organizationId, workspaceId: null, name: `route ${id}`, slug: id.toLowerCase().replace("_", "-"), strategy: "SINGLE", retryAttempts: null, retryOnStatusCodes: null, timeoutMs: null, createdAt: at, updatedAt: at }).run();
  db.insert(routeTargets).values({ routeId: id, position: 0, virtualKeyId, model: "gpt-4o", weight: null }).run();
  return id;
}

/** The database, its -wal and -shm files, where they exist. */
export function databaseFiles(dataDir: string): { path: string; bytes: Buffer }[] {
  return ["portcullis.db", "portcullis.db-wal", "portcullis.db-shm"]
    .map((name) => join(dataDir, name))
    .filter((path) => existsSync(path))
    .map((path) => ({ path, bytes: readFileSync(path) }));
}

/** The ways a secret could sit in bytes: as text, base64 or hex. */
export function encodings(secret: string): Buffer[] {
  const raw = Buffer.from(secret, "utf8");
  return [raw, Buffer.from(raw.toString("base64")), Buffer.from(raw.toString("hex"))];
}

/** Where any needle occurs in the data directory's database files. */
export function findInDatabaseFiles(dataDir: string, needles: Buffer[]): string[] {
  const found: string[] = [];
  for (const file of databaseFiles(dataDir)) {
    for (const needle of needles) if (file.bytes.includes(needle)) found.push(file.path);
  }
  return found;
}

/** A second connection to the database file, as an attacker with disk access would have. */
export function openRaw(t: TestServer): Database.Database {
  return new Database(join(t.dataDir, "portcullis.db"));
}
