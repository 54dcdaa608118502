// Every resolver class of the schema, in one list for buildSchema and the schema emitter.
import { ApiKeyResolver } from "../modules/api-keys/api-key.resolver.js";
import { AuditCheckpointResolver } from "../modules/audit/audit-checkpoint.resolver.js";
import { AuditResolver } from "../modules/audit/audit.resolver.js";
import { RouteTargetHealthResolver, VirtualKeyHealthResolver } from "../modules/health/target-health.resolver.js";
import { InvokeAttemptResolver, InvokeResolver } from "../modules/invoke/invoke.resolver.js";
import { MasterKeyResolver } from "../modules/master-keys/master-key.resolver.js";
import { NodeResolver } from "../modules/nodes/node.resolver.js";
import { OrganizationResolver } from "../modules/organizations/organization.resolver.js";
import { PolicyResolver } from "../modules/policies/policy.resolver.js";
import { RoleBindingResolver } from "../modules/roles/role-binding.resolver.js";
import { RoleResolver } from "../modules/roles/role.resolver.js";
import { RouteResolver } from "../modules/routes/route.resolver.js";
import { SsoResolver } from "../modules/sso/sso.resolver.js";
import { UsageResolver } from "../modules/usage/usage.resolver.js";
import { UserResolver } from "../modules/users/user.resolver.js";
import { ViewerResolver } from "../modules/viewer/viewer.resolver.js";
import { VirtualKeyResolver } from "../modules/virtual-keys/virtual-key.resolver.js";
import { WorkspaceResolver } from "../modules/workspaces/workspace.resolver.js";

export const resolvers = [
  ViewerResolver,
  NodeResolver,
  OrganizationResolver,
  WorkspaceResolver,
  UserResolver,
  RoleResolver,
  RoleBindingResolver,
  PolicyResolver,
  ApiKeyResolver,
  VirtualKeyResolver,
  RouteResolver,
  AuditResolver,
  AuditCheckpointResolver,
  UsageResolver,
  SsoResolver,
  InvokeResolver,
  InvokeAttemptResolver,
  MasterKeyResolver,
  RouteTargetHealthResolver,
  VirtualKeyHealthResolver,
] as const;
