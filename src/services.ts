// Wires every service once per server; resolvers reach them through the context.
import type Database from "better-sqlite3";
import type { Clock } from "./clock.js";
import type { Db } from "./db/client.js";
import { ApiKeyService } from "./modules/api-keys/api-key.service.js";
import { AuditCheckpointService } from "./modules/audit/audit-checkpoint.service.js";
import { AuditService } from "./modules/audit/audit.service.js";
import { AuditedWriter } from "./modules/audit/audited-write.js";
import type { KeyStore } from "./modules/master-keys/key-store.js";
import { MasterKeyService } from "./modules/master-keys/master-key.service.js";
import { NodeService } from "./modules/nodes/node.service.js";
import { OrganizationService } from "./modules/organizations/organization.service.js";
import { PolicyService } from "./modules/policies/policy.service.js";
import { RoleService } from "./modules/roles/role.service.js";
import { RouteService } from "./modules/routes/route.service.js";
import { UserService } from "./modules/users/user.service.js";
import { WorkspaceService } from "./modules/workspaces/workspace.service.js";
import { SsoService } from "./modules/sso/sso.service.js";
import { SsoSignIn } from "./modules/sso/sso-sign-in.js";
import { SecretBox } from "./modules/virtual-keys/secret-box.js";
import { VirtualKeyService } from "./modules/virtual-keys/virtual-key.service.js";
import type { OutboundClient } from "./net/outbound.js";
import type { ChangeMark } from "./db/change-mark.js";
import type { CounterStore } from "./gateway/counter-store.js";
import type { PolicyEnforcer } from "./gateway/enforcement.types.js";
import { PolicyEnforcer as DatabasePolicyEnforcer } from "./gateway/policy-enforcer.js";
import type { RandomSource } from "./gateway/routing.js";
import { InvokeService } from "./modules/invoke/invoke.service.js";
import { UsageService } from "./modules/usage/usage.service.js";
import { RetentionService } from "./modules/retention/retention.service.js";
import { Permission } from "./auth/permission.js";
import { TargetHealthService } from "./modules/health/target-health.service.js";
import { GroupCommit } from "./db/group-commit.js";
import { Metrics } from "./metrics/metrics.js";
import { AttemptRunner } from "./gateway/attempts.js";
import { TargetHealth } from "./gateway/target-health.js";
import { RouteCalls } from "./modules/routes/route.calls.js";
import { UsageRecorder } from "./modules/usage/usage.recorder.js";
import { VirtualKeyCalls } from "./modules/virtual-keys/virtual-key.calls.js";

export interface ServiceDeps {
  db: Db;
  /** The connection under db, for the writes grouped across concurrent calls. */
  sqlite: Database.Database;
  keys: KeyStore;
  clock: Clock;
  /** The one guarded client for every call that leaves the process. */
  outbound: OutboundClient;
  changeMark: ChangeMark;
  /** Where the policies' rate limits count, shared with the server's other limits. */
  counters: CounterStore;
  /** Enforces policies on model calls; tests may pass one that records its calls. */
  enforcer?: PolicyEnforcer;
  /** Picks load-balanced targets; tests pass a fixed sequence. */
  random?: RandomSource;
  /** PORTCULLIS_STORE_TEXT: store the redacted text of each call. */
  storeText?: boolean;
}

export function createServices(deps: ServiceDeps) {
  // One grouped transaction per event-loop turn for the writes of all model calls in flight.
  const group = new GroupCommit(deps.sqlite, deps.changeMark);
  const auditWriter = new AuditedWriter(deps.db, deps.clock, deps.changeMark, group);
  const organizations = new OrganizationService(deps.db, deps.keys, deps.clock);
  const workspaces = new WorkspaceService(deps.db, auditWriter);
  const audit = new AuditService(deps.db);
  const auditCheckpoints = new AuditCheckpointService(deps.db, deps.keys, deps.clock, deps.changeMark);
  const masterKeys = new MasterKeyService(deps.db, deps.keys, auditWriter, deps.clock);
  const roles = new RoleService(deps.db, auditWriter, deps.clock);
  const apiKeys = new ApiKeyService(deps.db, deps.keys, auditWriter, deps.clock);
  const users = new UserService(deps.db, auditWriter, apiKeys);
  const sso = new SsoService(deps.db, auditWriter, deps.outbound, workspaces);
  const ssoSignIn = new SsoSignIn(deps.db, deps.clock);
  // secrets.openSecret is for the provider-calling service only; nothing else opens a secret.
  const secrets = new SecretBox(deps.db, deps.keys, deps.changeMark);
  const virtualKeys = new VirtualKeyService(deps.db, auditWriter, secrets, deps.outbound, workspaces);
  const routes = new RouteService(deps.db, auditWriter, workspaces);
  const policies = new PolicyService(deps.db, auditWriter);
  const enforcer = deps.enforcer ?? new DatabasePolicyEnforcer(deps.db, deps.clock, { changeMark: deps.changeMark, group, counters: deps.counters });
  // One breaker and set of health figures per target, for the life of the server.
  const health = new TargetHealth(deps.clock);
  const virtualKeyCalls = new VirtualKeyCalls(deps.db, deps.changeMark);
  const routeCalls = new RouteCalls(deps.db);
  // The chain lengths, one lookup per organization at the end of the (organization, sequence)
  // index: a GROUP BY would read the whole index, 90 ms at a million events, on every scrape.
  const chainLengths = deps.sqlite.prepare("SELECT coalesce(sum((SELECT max(sequence) FROM audit_events WHERE organization_id = o.id)), 0) FROM organizations o").pluck();
  const metrics = new Metrics({ circuits: () => health.circuitCounts(), auditEvents: () => chainLengths.get() as number });
  const invoke = new InvokeService(
    auditWriter,
    secrets,
    deps.outbound,
    enforcer,
    new AttemptRunner({ enforcer, health, clock: deps.clock, random: deps.random ?? Math.random }),
    virtualKeyCalls,
    routeCalls,
    new UsageRecorder(deps.sqlite),
    deps.clock,
    metrics,
    deps.storeText ?? false,
  );
  const usage = new UsageService(deps.db);
  const nodes = new NodeService();
  nodes.register("Organization", (meta, id) =>
    id === meta.principal.organizationId && meta.principal.access.has(Permission.ORGANIZATION_READ) ? organizations.get(id) : undefined,
  );
  nodes.register("Workspace", (meta, id) => workspaces.find(meta, id));
  nodes.register("AuditEvent", (meta, id) => audit.find(meta, id));
  nodes.register("VirtualKey", (meta, id) => virtualKeys.find(meta, id));
  nodes.register("Route", (meta, id) => routes.find(meta, id));
  nodes.register("ApiKey", (meta, id) => apiKeys.find(meta, id));
  nodes.register("User", (meta, id) => users.find(meta, id));
  nodes.register("Role", (meta, id) => roles.find(meta, id));
  nodes.register("RoleBinding", (meta, id) => roles.findBinding(meta, id));
  nodes.register("Policy", (meta, id) => policies.find(meta, id));
  return {
    auditWriter,
    organizations,
    workspaces,
    audit,
    auditCheckpoints,
    masterKeys,
    roles,
    apiKeys,
    users,
    nodes,
    sso,
    ssoSignIn,
    keys: deps.keys,
    changeMark: deps.changeMark,
    outbound: deps.outbound,
    secrets,
    virtualKeys,
    routes,
    policies,
    invoke,
    usage,
    retention: new RetentionService(deps.sqlite, deps.clock, deps.changeMark),
    health,
    metrics,
    targetHealth: new TargetHealthService(health),
    virtualKeyCalls,
    routeCalls,
  };
}

export type Services = ReturnType<typeof createServices>;
