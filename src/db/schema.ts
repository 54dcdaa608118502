// The whole data model. Timestamps are epoch milliseconds; every ID is prefixed and random
// (src/ids.ts). Workspace IDs in audit and usage rows carry no foreign key on purpose: those
// records outlive the workspace they name. References between an organization's own objects
// use SQLite's default NO ACTION (checked at the end of the statement), so that deleting an
// organization cascades through all of them while deleting one object still fails when
// something refers to it; services answer CONFLICT before that happens.
import { blob, index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

const createdAt = () => integer("created_at", { mode: "timestamp_ms" }).notNull();
const updatedAt = () => integer("updated_at", { mode: "timestamp_ms" }).notNull();
const orgRef = () =>
  text("organization_id")
    .notNull()
    .references(() => organizations.id, { onDelete: "cascade" });
const workspaceRef = () => text("workspace_id").references(() => workspaces.id);

/** Facts about this installation, e.g. that an organization was once created. */
export const instanceMeta = sqliteTable("instance_meta", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
});

/** Secrets of the server itself (the API key pepper), wrapped by a master key. */
export const serverSecrets = sqliteTable("server_secrets", {
  name: text("name").primaryKey(),
  kekVersion: integer("kek_version").notNull(),
  wrapped: blob("wrapped", { mode: "buffer" }).notNull(),
  updatedAt: updatedAt(),
});

export const organizations = sqliteTable("organizations", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  createdAt: createdAt(),
});

/** One data key per organization, wrapped by the newest master key. Deleting it shreds the org's secrets. */
export const dataKeys = sqliteTable("data_keys", {
  organizationId: text("organization_id")
    .primaryKey()
    .references(() => organizations.id, { onDelete: "cascade" }),
  kekVersion: integer("kek_version").notNull(),
  wrapped: blob("wrapped", { mode: "buffer" }).notNull(),
  createdAt: createdAt(),
  rotatedAt: integer("rotated_at", { mode: "timestamp_ms" }),
});

export const workspaces = sqliteTable(
  "workspaces",
  {
    id: text("id").primaryKey(),
    organizationId: orgRef(),
    name: text("name").notNull(),
    slug: text("slug").notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("workspaces_org_slug").on(t.organizationId, t.slug)],
);

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    organizationId: orgRef(),
    email: text("email"),
    name: text("name"),
    status: text("status", { enum: ["ACTIVE", "SUSPENDED"] }).notNull(),
    oidcIssuer: text("oidc_issuer"),
    oidcSubject: text("oidc_subject"),
    createdAt: createdAt(),
    lastLoginAt: integer("last_login_at", { mode: "timestamp_ms" }),
  },
  (t) => [
    uniqueIndex("users_org_email").on(t.organizationId, t.email),
    // Per organization: one issuer (Google, a shared Okta tenant) can serve several tenants,
    // and the same person is then a separate user in each.
    uniqueIndex("users_oidc_identity").on(t.organizationId, t.oidcIssuer, t.oidcSubject),
  ],
);

export const roles = sqliteTable(
  "roles",
  {
    id: text("id").primaryKey(),
    organizationId: orgRef(),
    name: text("name").notNull(),
    description: text("description"),
    /** JSON array of Permission names. */
    permissions: text("permissions", { mode: "json" }).$type<string[]>().notNull(),
    builtIn: integer("built_in", { mode: "boolean" }).notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("roles_org_name").on(t.organizationId, t.name)],
);

export const roleBindings = sqliteTable(
  "role_bindings",
  {
    id: text("id").primaryKey(),
    organizationId: orgRef(),
    roleId: text("role_id")
      .notNull()
      .references(() => roles.id),
    principalKind: text("principal_kind", { enum: ["USER", "API_KEY"] }).notNull(),
    principalId: text("principal_id").notNull(),
    workspaceId: workspaceRef(),
    /** SSO bindings are replaced from the token's claims at every sign-in; manual ones never are. */
    source: text("source", { enum: ["MANUAL", "SSO"] }).notNull().default("MANUAL"),
    createdAt: createdAt(),
  },
  (t) => [
    index("role_bindings_principal").on(t.principalId),
    // SQLite treats NULLs as distinct here, so the service also refuses a second
    // organization-wide binding of the same role.
    uniqueIndex("role_bindings_unique").on(t.roleId, t.principalId, t.workspaceId),
  ],
);

export const ssoConnections = sqliteTable(
  "sso_connections",
  {
    organizationId: text("organization_id")
      .primaryKey()
      .references(() => organizations.id, { onDelete: "cascade" }),
    issuer: text("issuer").notNull(),
    audience: text("audience").notNull(),
    roleClaim: text("role_claim").notNull(),
    jitProvisioning: integer("jit_provisioning", { mode: "boolean" }).notNull(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("sso_issuer_audience").on(t.issuer, t.audience)],
);

export const ssoRoleMappings = sqliteTable("sso_role_mappings", {
  id: text("id").primaryKey(),
  organizationId: orgRef(),
  claimValue: text("claim_value").notNull(),
  roleId: text("role_id")
    .notNull()
    .references(() => roles.id),
  workspaceId: workspaceRef(),
  position: integer("position").notNull(),
});

export const policies = sqliteTable("policies", {
  id: text("id").primaryKey(),
  organizationId: orgRef(),
  workspaceId: workspaceRef(),
  name: text("name").notNull(),
  description: text("description"),
  allowedModels: text("allowed_models", { mode: "json" }).$type<string[] | null>(),
  deniedModels: text("denied_models", { mode: "json" }).$type<string[]>().notNull(),
  requestsPerMinute: integer("requests_per_minute"),
  tokensPerMinute: integer("tokens_per_minute"),
  budgetLimitUsd: real("budget_limit_usd"),
  budgetPeriod: text("budget_period", { enum: ["DAY", "WEEK", "MONTH", "TOTAL"] }),
  allowedIpRanges: text("allowed_ip_ranges", { mode: "json" }).$type<string[] | null>(),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const policyAttachments = sqliteTable(
  "policy_attachments",
  {
    policyId: text("policy_id")
      .notNull()
      .references(() => policies.id, { onDelete: "cascade" }),
    organizationId: orgRef(),
    targetKind: text("target_kind", { enum: ["ApiKey", "VirtualKey", "Route", "Workspace"] }).notNull(),
    targetId: text("target_id").notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.policyId, t.targetId] }), index("policy_attachments_target").on(t.targetId)],
);

export const apiKeys = sqliteTable("api_keys", {
  id: text("id").primaryKey(),
  organizationId: orgRef(),
  workspaceId: workspaceRef(),
  name: text("name").notNull(),
  prefix: text("prefix").notNull(),
  ownerUserId: text("owner_user_id").references(() => users.id, { onDelete: "set null" }),
  createdByKind: text("created_by_kind", { enum: ["USER", "API_KEY"] }),
  createdById: text("created_by_id"),
  expiresAt: integer("expires_at", { mode: "timestamp_ms" }),
  revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
  lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }),
  createdAt: createdAt(),
});

/** The HMACs of a key's secrets: one, or two while a rotation's grace period runs. */
export const apiKeySecrets = sqliteTable(
  "api_key_secrets",
  {
    id: text("id").primaryKey(),
    apiKeyId: text("api_key_id")
      .notNull()
      .references(() => apiKeys.id, { onDelete: "cascade" }),
    hash: blob("hash", { mode: "buffer" }).notNull(),
    createdAt: createdAt(),
    /** Null while the secret is current; set when a rotation retires it. */
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }),
  },
  (t) => [index("api_key_secrets_key").on(t.apiKeyId)],
);

export const virtualKeys = sqliteTable(
  "virtual_keys",
  {
    id: text("id").primaryKey(),
    organizationId: orgRef(),
    workspaceId: workspaceRef(),
    name: text("name").notNull(),
    slug: text("slug").notNull(),
    provider: text("provider", {
      enum: ["OPENAI", "ANTHROPIC", "AZURE_OPENAI", "GOOGLE", "OPENAI_COMPATIBLE"],
    }).notNull(),
    baseUrl: text("base_url"),
    providerOptions: text("provider_options", { mode: "json" }).$type<Record<string, unknown> | null>(),
    secretHint: text("secret_hint").notNull(),
    secretVersion: integer("secret_version").notNull(),
    /** Versioned AES-256-GCM envelope under the organization's data key. */
    sealedSecret: blob("sealed_secret", { mode: "buffer" }).notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }),
  },
  (t) => [uniqueIndex("virtual_keys_org_slug").on(t.organizationId, t.slug)],
);

export const routes = sqliteTable(
  "routes",
  {
    id: text("id").primaryKey(),
    organizationId: orgRef(),
    workspaceId: workspaceRef(),
    name: text("name").notNull(),
    slug: text("slug").notNull(),
    strategy: text("strategy", { enum: ["SINGLE", "FALLBACK", "LOADBALANCE"] }).notNull(),
    retryAttempts: integer("retry_attempts"),
    retryOnStatusCodes: text("retry_on_status_codes", { mode: "json" }).$type<number[] | null>(),
    timeoutMs: integer("timeout_ms"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("routes_org_slug").on(t.organizationId, t.slug)],
);

export const routeTargets = sqliteTable(
  "route_targets",
  {
    routeId: text("route_id")
      .notNull()
      .references(() => routes.id, { onDelete: "cascade" }),
    position: integer("position").notNull(),
    virtualKeyId: text("virtual_key_id")
      .notNull()
      .references(() => virtualKeys.id),
    model: text("model"),
    weight: real("weight"),
  },
  (t) => [primaryKey({ columns: [t.routeId, t.position] }), index("route_targets_virtual_key").on(t.virtualKeyId)],
);

export const usageRecords = sqliteTable(
  "usage_records",
  {
    id: text("id").primaryKey(),
    organizationId: orgRef(),
    workspaceId: text("workspace_id"),
    requestId: text("request_id").notNull(),
    apiKeyId: text("api_key_id"),
    virtualKeyId: text("virtual_key_id"),
    routeId: text("route_id"),
    provider: text("provider").notNull(),
    model: text("model").notNull(),
    success: integer("success", { mode: "boolean" }).notNull(),
    promptTokens: integer("prompt_tokens").notNull(),
    completionTokens: integer("completion_tokens").notNull(),
    costUsd: real("cost_usd").notNull(),
    latencyMs: integer("latency_ms").notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("usage_org_time").on(t.organizationId, t.createdAt)],
);

/** Spend per policy and target within a budget period, reserved before a call and settled after. */
export const budgetCounters = sqliteTable(
  "budget_counters",
  {
    policyId: text("policy_id")
      .notNull()
      .references(() => policies.id, { onDelete: "cascade" }),
    targetId: text("target_id").notNull(),
    periodStart: integer("period_start", { mode: "timestamp_ms" }).notNull(),
    spentUsd: real("spent_usd").notNull(),
    reservedUsd: real("reserved_usd").notNull(),
  },
  (t) => [primaryKey({ columns: [t.policyId, t.targetId, t.periodStart] })],
);

export const auditEvents = sqliteTable(
  "audit_events",
  {
    id: text("id").primaryKey(),
    organizationId: orgRef(),
    sequence: integer("sequence").notNull(),
    occurredAt: integer("occurred_at", { mode: "timestamp_ms" }).notNull(),
    actorKind: text("actor_kind", { enum: ["USER", "API_KEY"] }),
    actorId: text("actor_id"),
    workspaceId: text("workspace_id"),
    action: text("action").notNull(),
    targetKind: text("target_kind"),
    targetId: text("target_id"),
    outcome: text("outcome", { enum: ["SUCCESS", "DENIED", "FAILURE"] }).notNull(),
    ip: text("ip"),
    userAgent: text("user_agent"),
    requestId: text("request_id"),
    /** Canonical JSON text, or null. */
    details: text("details"),
    previousHash: text("previous_hash").notNull(),
    hash: text("hash").notNull(),
  },
  // Every filter of auditEvents has an index that ends in sequence, so that a page is read in
  // sequence order from where the cursor points (audit.service.ts list). A time range needs none:
  // it becomes a range of sequences. Each index costs every insert, and an event is inserted per
  // model call: bench/audit-insert.ts measures what each costs.
  (t) => [
    uniqueIndex("audit_org_sequence").on(t.organizationId, t.sequence),
    index("audit_org_workspace").on(t.organizationId, t.workspaceId, t.sequence),
    index("audit_org_actor").on(t.organizationId, t.actorId, t.sequence),
    index("audit_org_action").on(t.organizationId, t.action, t.sequence),
    index("audit_org_target").on(t.organizationId, t.targetId, t.sequence),
    index("audit_org_outcome").on(t.organizationId, t.outcome, t.sequence),
  ],
);

/**
 * Signed heads of each organization's audit chain (src/modules/audit/audit-checkpoint.service.ts).
 * No foreign key to the event: retention may remove the event a checkpoint names, and the
 * checkpoint still proves what that event's hash was.
 */
export const auditCheckpoints = sqliteTable(
  "audit_checkpoints",
  {
    organizationId: orgRef(),
    sequence: integer("sequence").notNull(),
    hash: text("hash").notNull(),
    signedAt: integer("signed_at", { mode: "timestamp_ms" }).notNull(),
    keyId: text("key_id").notNull(),
    /** Ed25519 over the statement of src/modules/audit/audit-checkpoint.statement.ts. */
    signature: blob("signature", { mode: "buffer" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.sequence] })],
);
/** The redacted prompt and completion of a call, when PORTCULLIS_STORE_TEXT is on; removed by retention. */
export const usageTexts = sqliteTable(
  "usage_texts",
  {
    usageRecordId: text("usage_record_id")
      .primaryKey()
      .references(() => usageRecords.id, { onDelete: "cascade" }),
    organizationId: orgRef(),
    promptText: text("prompt_text"),
    completionText: text("completion_text"),
    /** The usage record's own time, so that retention finds expired texts by index. */
    createdAt: createdAt(),
  },
  (t) => [index("usage_texts_org_time").on(t.organizationId, t.createdAt)],
);

/**
 * Where each organization's audit chain starts after retention removed its oldest events: the
 * first kept sequence and the previousHash that event must name. Written before the events are
 * deleted; triggers (drizzle/0004_audit_retention_triggers.sql) let a delete through only below it, and let it only move forward.
 */
export const auditRetentionAnchors = sqliteTable("audit_retention_anchors", {
  organizationId: text("organization_id")
    .primaryKey()
    .references(() => organizations.id, { onDelete: "cascade" }),
  firstKeptSequence: integer("first_kept_sequence").notNull(),
  anchorHash: text("anchor_hash").notNull(),
  /** Events removed so far, over every run. */
  removedEvents: integer("removed_events").notNull(),
  appliedAt: integer("applied_at", { mode: "timestamp_ms" }).notNull(),
});
