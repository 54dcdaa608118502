import { Ctx, FieldResolver, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.js";
import { Workspace } from "../workspaces/workspace.type.js";
import { Role, RoleBinding } from "./role.type.js";

@Resolver(() => RoleBinding)
export class RoleBindingResolver {
  @FieldResolver(() => Role)
  role(@Root() binding: RoleBinding, @Ctx() ctx: Context) {
    return ctx.services.roles.roleOfBinding(binding.organizationId, binding.roleId);
  }

  @FieldResolver(() => Workspace, { nullable: true })
  workspace(@Root() binding: RoleBinding, @Ctx() ctx: Context) {
    return ctx.services.workspaces.workspaceOf(ctx, binding);
  }
}
