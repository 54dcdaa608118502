import { Arg, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import { Permission } from "../../auth/permission.js";
import type { Context } from "../../context.js";
import { DeletionPayload } from "../common/deletion.type.js";
import { AssignRoleInput, CreateRoleInput, UpdateRoleInput } from "./role.input.js";
import { AccessDecision, Role, RoleBinding } from "./role.type.js";

@Resolver(() => Role)
export class RoleResolver {
  @Query(() => [Role])
  roles(@Ctx() ctx: Context) {
    return ctx.services.roles.list(ctx);
  }

  @Query(() => AccessDecision, { description: "Dry run of an authorization decision, for the caller or (with USER_READ) another principal." })
  explainAccess(
    @Arg("principalId", () => ID, { nullable: true }) principalId: string | null,
    @Arg("permission", () => Permission) permission: Permission,
    @Arg("workspaceId", () => ID, { nullable: true }) workspaceId: string | null,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.roles.explain(ctx, principalId, permission, workspaceId);
  }

  @Mutation(() => Role)
  createRole(@Arg("input", () => CreateRoleInput) input: CreateRoleInput, @Ctx() ctx: Context) {
    return ctx.services.roles.create(ctx, input);
  }

  @Mutation(() => Role)
  updateRole(@Arg("input", () => UpdateRoleInput) input: UpdateRoleInput, @Ctx() ctx: Context) {
    return ctx.services.roles.update(ctx, input);
  }

  @Mutation(() => DeletionPayload, { description: "CONFLICT while the role is bound to anyone." })
  deleteRole(@Arg("id", () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.roles.delete(ctx, id);
  }

  @Mutation(() => RoleBinding, { description: "A caller can only grant permissions that it holds itself in that scope." })
  assignRole(@Arg("input", () => AssignRoleInput) input: AssignRoleInput, @Ctx() ctx: Context) {
    return ctx.services.roles.assign(ctx, input);
  }

  @Mutation(() => DeletionPayload)
  revokeRoleBinding(@Arg("id", () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.roles.revokeBinding(ctx, id);
  }
}
