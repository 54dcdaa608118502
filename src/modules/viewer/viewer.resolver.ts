import { Arg, Ctx, FieldResolver, ID, Query, Resolver, Root } from "type-graphql";
import { Permission } from "../../auth/permission.js";
import type { Context } from "../../context.js";
import { notFound } from "../../errors.js";
import { ApiKey } from "../api-keys/api-key.type.js";
import { Organization } from "../organizations/organization.type.js";
import { User } from "../users/user.type.js";
import { Viewer } from "./viewer.type.js";

@Resolver(() => Viewer)
export class ViewerResolver {
  @Query(() => Viewer)
  viewer(@Ctx() ctx: Context): Partial<Viewer> {
    const p = ctx.principal;
    return {
      principalId: p.id,
      kind: p.kind as Viewer["kind"],
      organizationId: p.organizationId,
    };
  }

  @FieldResolver(() => Organization)
  organization(@Root() viewer: Viewer, @Ctx() ctx: Context) {
    return ctx.services.organizations.get(viewer.organizationId);
  }

  @FieldResolver(() => [Permission], { description: "Effective permissions: organization-wide ones, plus those bound in the given workspace." })
  permissions(@Arg("workspaceId", () => ID, { nullable: true }) workspaceId: string | null, @Ctx() ctx: Context): Permission[] {
    if (workspaceId && !ctx.services.workspaces.existsInOrganization(ctx.principal.organizationId, workspaceId)) {
      throw notFound("Workspace");
    }
    return ctx.principal.access.permissionsIn(workspaceId);
  }

  @FieldResolver(() => User, { nullable: true })
  user(@Ctx() ctx: Context) {
    return ctx.services.users.self(ctx) ?? null;
  }

  @FieldResolver(() => ApiKey, { nullable: true })
  apiKey(@Ctx() ctx: Context) {
    return ctx.services.apiKeys.self(ctx) ?? null;
  }
}
