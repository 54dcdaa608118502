// What each audit event's `details` may hold: one schema per action. The recorder keeps exactly
// the fields its action's schema names and drops every other, so that no secret reaches the log
// by being passed along in an object, whatever its key is called (the rule used to be a guess by
// key name, which also dropped harmless fields such as a policy's tokensPerMinute). No schema
// has a field for a secret, a free-text description or a prompt.
import { z } from "zod";
import { ERROR_CODES } from "../../errors.js";

const id = z.string();
const ids = z.array(id);
const code = z.enum(ERROR_CODES);
const roleBinding = z.object({ roleId: id, workspaceId: id.nullable() });
const endpointOptions = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).nullable();
const routeTargets = z.array(z.object({ virtualKeyId: id, model: z.string().nullable(), weight: z.number().nullable() }));
const retry = z.object({ attempts: z.number(), onStatusCodes: z.array(z.number()) }).nullable().optional();
const attachment = { targetKind: z.enum(["ApiKey", "VirtualKey", "Route", "Workspace"]), targetId: id };

/** A policy's rules as audit details (policy.service.ts): its description only as "set or not". */
const policyRules = {
  name: z.string(),
  description: z.boolean(),
  allowedModels: z.array(z.string()).nullable(),
  deniedModels: z.array(z.string()),
  rateLimit: z.object({ rpm: z.number().nullable(), tpm: z.number().nullable() }).nullable(),
  budget: z.object({ limitUsd: z.number().nullable(), period: z.string().nullable() }).nullable(),
  allowedIpRanges: z.array(z.string()).nullable(),
};

/**
 * A model call's metadata is the caller's own labels (invoke.checks.ts bounds its size and
 * values). It is the one part of any event whose keys no schema can list; keys there that name
 * a secret are dropped, so that a key pasted into a label still stays out of the log.
 */
const SECRET_NAME = /secret|token|password|authorization|api.?key|private|pepper|ciphertext|credential|bearer/i;
function withoutSecretNames(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSecretNames);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).filter(([k]) => !SECRET_NAME.test(k)).map(([k, v]) => [k, withoutSecretNames(v)]));
}
const callLabels = z.record(z.string(), z.unknown()).transform((m) => withoutSecretNames(m) as Record<string, unknown>);

const modelCall = z.object({
  routeId: id.nullable().optional(),
  virtualKeyId: id.nullable().optional(),
  model: z.string().optional(),
  attempts: z.number().optional(),
  stream: z.boolean().optional(),
  embeddings: z.boolean().optional(),
  ended: z.enum(["client_left"]).optional(),
  metadata: callLabels.optional(),
  code: code.optional(),
});

/** Each action's details when it succeeded; a denied or failed one records FAILED below unless it names its own. */
export const AUDIT_DETAILS = {
  authenticate: z.object({
    provisioned: z.enum(["invitation", "jit"]).nullable(),
    ssoRoleBindingsAdded: z.array(roleBinding),
    ssoRoleBindingsRemoved: z.array(roleBinding),
    keptLastOwner: z.boolean(),
  }),
  invokeModel: modelCall,
  checkpointAuditLog: z.object({}),
  rotateMasterKey: z.object({ activeVersion: z.number(), rewrappedDataKeys: z.number().optional(), via: z.enum(["cli"]).optional() }),
  createOrganization: z.object({ ownerApiKeyId: id }),
  createWorkspace: z.object({ name: z.string(), slug: z.string() }),
  deleteWorkspace: z.object({}),
  inviteUser: z.object({}),
  suspendUser: z.object({ alreadySuspended: z.boolean() }),
  deleteUser: z.object({ revokedApiKeyIds: ids }),
  createApiKey: z.object({ name: z.string(), roleIds: ids, policyIds: ids, ownerUserId: id.nullable(), expiresAt: z.string().nullable() }),
  revokeApiKey: z.object({ alreadyRevoked: z.boolean() }),
  rotateApiKey: z.object({ gracePeriodSeconds: z.number() }),
  createRole: z.object({ name: z.string(), permissions: z.array(z.string()) }),
  updateRole: z.object({ name: z.string(), permissions: z.array(z.string()) }),
  deleteRole: z.object({ name: z.string() }),
  assignRole: z.object({ roleId: id, principalKind: z.string(), principalId: id }),
  revokeRoleBinding: z.object({ roleId: id, principalKind: z.string(), principalId: id }),
  createPolicy: z.object(policyRules),
  updatePolicy: z.object({ changed: z.object(policyRules).partial() }),
  deletePolicy: z.object({ name: z.string(), detachedFrom: ids }),
  attachPolicy: z.object({ ...attachment, alreadyAttached: z.boolean() }),
  detachPolicy: z.object({ ...attachment, wasAttached: z.boolean() }),
  createVirtualKey: z.object({
    name: z.string(),
    slug: z.string(),
    provider: z.string(),
    baseUrl: z.string().nullable(),
    providerOptions: endpointOptions,
    version: z.number(),
    policyIds: ids,
  }),
  updateVirtualKey: z.object({ name: z.string() }),
  rotateVirtualKeySecret: z.object({ version: z.number(), endpointChanged: z.boolean(), baseUrl: z.string().nullable(), providerOptions: endpointOptions }),
  deleteVirtualKey: z.object({ slug: z.string() }),
  createRoute: z.object({ name: z.string(), slug: z.string(), strategy: z.string(), targets: routeTargets, retry, timeoutMs: z.number().nullable() }),
  updateRoute: z.object({
    name: z.string().optional(),
    strategy: z.string().optional(),
    targets: routeTargets.optional(),
    retry,
    timeoutMs: z.number().nullable().optional(),
  }),
  deleteRoute: z.object({ slug: z.string() }),
  configureSso: z.object({
    issuer: z.string(),
    audience: z.string(),
    roleClaim: z.string().nullable(),
    jitProvisioning: z.boolean(),
    roleMappings: z.array(z.object({ claimValue: z.string(), roleId: id, workspaceId: id.nullable() })),
  }),
} as const;

export type AuditAction = keyof typeof AUDIT_DETAILS;

/** What a change of this action hands the recorder: checked by the compiler, then parsed by the schema. */
export type AuditDetailsOf<A extends AuditAction> = z.input<(typeof AUDIT_DETAILS)[A]>;

/** A denied or failed mutation: the error code it answered with, nothing of its arguments. */
const FAILED = z.object({ code });

/** Schemas of denied and failed events where they differ from FAILED. */
const FAILURE_DETAILS: Partial<Record<AuditAction, z.ZodType<Record<string, unknown>>>> = {
  authenticate: z.object({ reason: z.string() }),
  invokeModel: modelCall,
};

export function isAuditAction(name: string): name is AuditAction {
  return Object.hasOwn(AUDIT_DETAILS, name);
}

export class AuditDetailsError extends Error {}

/**
 * The details an event of this action and outcome records: the fields its schema names, the
 * rest dropped. Details that do not fit the schema are a bug in the caller, refused loudly
 * (the change and its event then roll back together) rather than recorded half.
 */
export function auditDetails(action: string, outcome: "SUCCESS" | "DENIED" | "FAILURE", details: Record<string, unknown> | null | undefined): Record<string, unknown> | null {
  if (!details) return null;
  const known = isAuditAction(action);
  const schema = outcome === "SUCCESS" ? (known ? AUDIT_DETAILS[action] : undefined) : ((known && FAILURE_DETAILS[action]) || FAILED);
  if (!schema) throw new AuditDetailsError(`no audit details schema for the action ${action}`);
  const parsed = schema.safeParse(details);
  if (!parsed.success) throw new AuditDetailsError(`audit details of ${action} do not fit its schema: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return parsed.data as Record<string, unknown>;
}
