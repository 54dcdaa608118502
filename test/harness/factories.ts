// Seeds for tests: keys holding a given built-in role, organization-wide or in one workspace.
// Seeding writes through the same internal functions the services use; the behaviour under
// test is then exercised over HTTP.
import { and, eq } from "drizzle-orm";
import type { BuiltInRoleName } from "../../src/auth/permission.js";
import { roleBindings, roles, workspaces } from "../../src/db/schema.js";
import { newId } from "../../src/ids.js";
import { issueApiKey } from "../../src/modules/api-keys/api-key.issue.js";
import type { TestServer } from "./server.js";

export function seed(t: TestServer, organizationId = t.organizationId) {
  const { db } = t.server.database;
  const at = () => t.clock.now();
  return {
    workspace(name = `ws-${Math.random().toString(36).slice(2, 8)}`): string {
      const id = newId("Workspace");
      db.insert(workspaces).values({ id, organizationId, name, slug: name.toLowerCase().replace(/[^a-z0-9]+/g, "-"), createdAt: at() }).run();
      return id;
    },
    roleId(name: BuiltInRoleName): string {
      return db.select({ id: roles.id }).from(roles).where(and(eq(roles.organizationId, organizationId), eq(roles.name, name))).get()!.id;
    },
    /** A service API key bound to a built-in role, organization-wide (no workspace) or in one. */
    apiKey(role: BuiltInRoleName, workspaceId: string | null = null, opts: { expiresAt?: Date; keyWorkspaceId?: string | null } = {}): { id: string; token: string } {
      const issued = issueApiKey(
        db,
        t.server.services.keys.pepper(),
        { organizationId, workspaceId: opts.keyWorkspaceId ?? workspaceId, name: `${role} key`, ownerUserId: null, createdBy: null, expiresAt: opts.expiresAt ?? null },
        at(),
      );
      db.insert(roleBindings)
        .values({ id: newId("RoleBinding"), organizationId, roleId: this.roleId(role), principalKind: "API_KEY", principalId: issued.apiKeyId, workspaceId, createdAt: at() })
        .run();
      return { id: issued.apiKeyId, token: issued.token };
    },
  };
}
