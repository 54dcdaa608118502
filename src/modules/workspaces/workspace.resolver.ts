import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import type { Context } from "../../context.js";
import { DeletionPayload } from "../common/deletion.type.js";
import { CreateWorkspaceInput } from "./workspace.input.js";
import { Workspace, WorkspaceConnection } from "./workspace.type.js";

@Resolver(() => Workspace)
export class WorkspaceResolver {
  @Query(() => WorkspaceConnection)
  workspaces(
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.workspaces.list(ctx, { first, after });
  }

  @Mutation(() => Workspace)
  createWorkspace(@Arg("input", () => CreateWorkspaceInput) input: CreateWorkspaceInput, @Ctx() ctx: Context) {
    return ctx.services.workspaces.create(ctx, input);
  }

  @Mutation(() => DeletionPayload, {
    description:
      "Needs WORKSPACE_WRITE organization-wide. CONFLICT while any key, virtual key, route,\npolicy, role binding or SSO mapping is scoped to the workspace: nothing is ever widened\nto the organization.",
  })
  deleteWorkspace(@Arg("id", () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.workspaces.delete(ctx, id);
  }
}
