import { Arg, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import { Permission } from "../../auth/permission.js";
import type { Context } from "../../context.js";
import { notImplemented } from "../../errors.js";
import { DeletionPayload } from "../common/deletion.type.js";
import { AssignRoleInput, CreateRoleInput, UpdateRoleInput } from "./role.input.js";
import { AccessDecision, Role, RoleBinding } from "./role.type.js";

@Resolver(() => Role)
export class RoleResolver {
  @Query(() => [Role])
  roles(@Ctx() _ctx: Context): Role[] {
    throw notImplemented("roles");
  }

  @Query(() => AccessDecision, { description: "Dry run of an authorization decision, for the caller or (with USER_READ) another principal." })
  explainAccess(
    @Arg("principalId", () => ID, { nullable: true }) _principalId: string | null,
    @Arg("permission", () => Permission) _permission: Permission,
    @Arg("workspaceId", () => ID, { nullable: true }) _workspaceId: string | null,
  ): AccessDecision {
    throw notImplemented("explainAccess");
  }

  @Mutation(() => Role)
  createRole(@Arg("input", () => CreateRoleInput) _input: CreateRoleInput): Role {
    throw notImplemented("createRole");
  }

  @Mutation(() => Role)
  updateRole(@Arg("input", () => UpdateRoleInput) _input: UpdateRoleInput): Role {
    throw notImplemented("updateRole");
  }

  @Mutation(() => DeletionPayload, { description: "CONFLICT while the role is bound to anyone." })
  deleteRole(@Arg("id", () => ID) _id: string): DeletionPayload {
    throw notImplemented("deleteRole");
  }

  @Mutation(() => RoleBinding, { description: "A caller can only grant permissions that it holds itself in that scope." })
  assignRole(@Arg("input", () => AssignRoleInput) _input: AssignRoleInput): RoleBinding {
    throw notImplemented("assignRole");
  }

  @Mutation(() => DeletionPayload)
  revokeRoleBinding(@Arg("id", () => ID) _id: string): DeletionPayload {
    throw notImplemented("revokeRoleBinding");
  }
}
