// The organization's OIDC connection: reading it and replacing it (configureSso).
import { and, asc, eq, ne } from "drizzle-orm";
import { Permission } from "../../auth/permission.js";
import type { RequestMeta } from "../../context.js";
import type { Db } from "../../db/client.js";
import { roles, ssoConnections, ssoRoleMappings } from "../../db/schema.js";
import { badInput, conflict, forbidden, notFound } from "../../errors.js";
import { isId, newId } from "../../ids.js";
import { EndpointRefusedError, type OutboundClient } from "../../net/outbound.js";
import type { AuditedWriter } from "../audit/audited-write.js";
import { workspaceExists } from "../common/workspace-scope.js";
import type { Role } from "../roles/role.type.js";
import type { WorkspaceService } from "../workspaces/workspace.service.js";
import type { SsoConnection, SsoRoleMapping } from "./sso.type.js";

export const DEFAULT_ROLE_CLAIM = "groups";
const MAX_MAPPINGS = 200;
const MAX_ISSUER_LENGTH = 2048;
const MAX_TEXT_LENGTH = 512;
const CONTROL = /[\u0000-\u001f\u007f]/;

export interface ConfigureSso {
  issuer: string;
  audience: string;
  roleClaim?: string | null;
  roleMappings: { claimValue: string; roleId: string; workspaceId?: string | null }[];
  jitProvisioning?: boolean | null;
}

type ConnectionRow = typeof ssoConnections.$inferSelect;

export class SsoService {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditedWriter,
    private readonly outbound: Pick<OutboundClient, "checkEndpoint">,
    private readonly workspaces: WorkspaceService,
  ) {}

  get(meta: RequestMeta): SsoConnection | null {
    if (!meta.principal.access.has(Permission.ORGANIZATION_READ)) throw forbidden("Reading the SSO connection needs ORGANIZATION_READ organization-wide");
    const row = this.db.select().from(ssoConnections).where(eq(ssoConnections.organizationId, meta.principal.organizationId)).get();
    return row ? this.present(meta, row) : null;
  }

  async configure(meta: RequestMeta, input: ConfigureSso): Promise<SsoConnection> {
    const access = meta.principal.access;
    const orgId = meta.principal.organizationId;
    if (!access.has(Permission.ORGANIZATION_WRITE)) throw forbidden("Configuring SSO needs ORGANIZATION_WRITE organization-wide");
    const issuer = await this.checkIssuer(input.issuer);
    const audience = boundedText(input.audience, "audience", MAX_TEXT_LENGTH);
    const roleClaim = input.roleClaim === null || input.roleClaim === undefined ? DEFAULT_ROLE_CLAIM : boundedText(input.roleClaim, "roleClaim", 256);
    const jitProvisioning = input.jitProvisioning ?? false;
    if (input.roleMappings.length > MAX_MAPPINGS) throw badInput(`At most ${MAX_MAPPINGS} role mappings`, "roleMappings");
    const seen = new Set<string>();
    const mappings = input.roleMappings.map((m) => {
      const claimValue = boundedText(m.claimValue, "claimValue", 256);
      const workspaceId = m.workspaceId ?? null;
      const key = JSON.stringify([claimValue, m.roleId, workspaceId]);
      if (seen.has(key)) throw badInput("A role mapping is listed twice", "roleMappings");
      seen.add(key);
      return { claimValue, roleId: m.roleId, workspaceId };
    });

    const row = this.audit.write(meta, { action: "configureSso", targetKind: "SsoConnection" }, (tx, at) => {
      for (const m of mappings) {
        const role = isId(m.roleId, "Role")
          ? tx.select({ permissions: roles.permissions }).from(roles).where(and(eq(roles.organizationId, orgId), eq(roles.id, m.roleId))).get()
          : undefined;
        if (!role) throw notFound("Role");
        if (m.workspaceId !== null && !(isId(m.workspaceId, "Workspace") && workspaceExists(tx, orgId, m.workspaceId))) throw notFound("Workspace");
        // Nobody grants what they do not hold: every sign-in would hand these permissions out.
        if (!access.coversIn(role.permissions as Permission[], m.workspaceId)) {
          throw forbidden(`The role ${m.roleId} grants permissions that you do not hold ${m.workspaceId ? "in that workspace" : "organization-wide"}`);
        }
      }
      // Removing a mapping demotes everyone who holds its role through SSO at their next
      // sign-in: that too needs every permission the role carries, as revoking bindings does.
      const kept = new Set(mappings.map((m) => JSON.stringify([m.claimValue, m.roleId, m.workspaceId])));
      const existing = tx
        .select({ claimValue: ssoRoleMappings.claimValue, roleId: ssoRoleMappings.roleId, workspaceId: ssoRoleMappings.workspaceId, permissions: roles.permissions })
        .from(ssoRoleMappings)
        .innerJoin(roles, eq(roles.id, ssoRoleMappings.roleId))
        .where(eq(ssoRoleMappings.organizationId, orgId))
        .all();
      for (const old of existing) {
        if (kept.has(JSON.stringify([old.claimValue, old.roleId, old.workspaceId]))) continue;
        if (!access.coversIn(old.permissions as Permission[], old.workspaceId)) {
          throw forbidden(`Removing the mapping to role ${old.roleId} needs every permission that role grants`);
        }
      }
      const taken = tx
        .select({ organizationId: ssoConnections.organizationId })
        .from(ssoConnections)
        .where(and(eq(ssoConnections.issuer, issuer), eq(ssoConnections.audience, audience), ne(ssoConnections.organizationId, orgId)))
        .get();
      if (taken) throw conflict("This issuer and audience pair is already used by another organization");
      const values: ConnectionRow = { organizationId: orgId, issuer, audience, roleClaim, jitProvisioning, updatedAt: at };
      tx.insert(ssoConnections).values(values).onConflictDoUpdate({ target: ssoConnections.organizationId, set: values }).run();
      tx.delete(ssoRoleMappings).where(eq(ssoRoleMappings.organizationId, orgId)).run();
      mappings.forEach((m, position) => {
        tx.insert(ssoRoleMappings).values({ id: newId("SsoRoleMapping"), organizationId: orgId, ...m, position }).run();
      });
      return {
        result: values,
        targetId: null,
        details: { issuer, audience, roleClaim, jitProvisioning, roleMappings: mappings },
      };
    });
    return this.present(meta, row);
  }

  /** The issuer obeys the provider URL rules; only its address is checked here, nothing is fetched. */
  private async checkIssuer(raw: string): Promise<string> {
    if (raw.length === 0 || raw.length > MAX_ISSUER_LENGTH) throw badInput(`issuer must be a URL of at most ${MAX_ISSUER_LENGTH} characters`, "issuer");
    try {
      await this.outbound.checkEndpoint(raw);
    } catch (err) {
      if (err instanceof EndpointRefusedError) throw badInput(`issuer refused: ${err.message}`, "issuer");
      throw badInput("issuer refused: its host name could not be resolved", "issuer");
    }
    return raw;
  }

  private present(meta: RequestMeta, row: ConnectionRow): SsoConnection {
    const mappingRows = this.db
      .select({ mapping: ssoRoleMappings, role: roles })
      .from(ssoRoleMappings)
      .innerJoin(roles, and(eq(roles.organizationId, row.organizationId), eq(roles.id, ssoRoleMappings.roleId)))
      .where(eq(ssoRoleMappings.organizationId, row.organizationId))
      .orderBy(asc(ssoRoleMappings.position))
      .all();
    const roleMappings: SsoRoleMapping[] = mappingRows.map(({ mapping, role }) => ({
      claimValue: mapping.claimValue,
      roleId: mapping.roleId,
      role: role as Role,
      workspaceId: mapping.workspaceId,
      workspace: this.workspaces.workspaceOf(meta, mapping),
    }));
    return { ...row, roleMappings };
  }
}

function boundedText(value: string, field: string, max: number): string {
  if (value.trim().length === 0 || value.length > max) throw badInput(`${field} must have 1 to ${max} characters`, field);
  if (CONTROL.test(value)) throw badInput(`${field} must not contain control characters`, field);
  return value;
}
