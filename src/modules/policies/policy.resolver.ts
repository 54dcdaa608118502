import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.js";
import { DeletionPayload } from "../common/deletion.type.js";
import { Workspace } from "../workspaces/workspace.type.js";
import { CreatePolicyInput, PolicyFilter, UpdatePolicyInput } from "./policy.input.js";
import { Policy, PolicyConnection } from "./policy.type.js";

@Resolver(() => Policy)
export class PolicyResolver {
  @Query(() => PolicyConnection)
  policies(
    @Arg("filter", () => PolicyFilter, { nullable: true }) filter: PolicyFilter | null,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.policies.list(ctx, filter, { first, after });
  }

  @Mutation(() => Policy)
  createPolicy(@Arg("input", () => CreatePolicyInput) input: CreatePolicyInput, @Ctx() ctx: Context) {
    return ctx.services.policies.create(ctx, input);
  }

  @Mutation(() => Policy)
  updatePolicy(@Arg("input", () => UpdatePolicyInput) input: UpdatePolicyInput, @Ctx() ctx: Context) {
    return ctx.services.policies.update(ctx, input);
  }

  @Mutation(() => DeletionPayload)
  deletePolicy(@Arg("id", () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.policies.delete(ctx, id);
  }

  @Mutation(() => Policy, { description: "targetId is an API key, a virtual key, a route or a workspace." })
  attachPolicy(@Arg("policyId", () => ID) policyId: string, @Arg("targetId", () => ID) targetId: string, @Ctx() ctx: Context) {
    return ctx.services.policies.attach(ctx, policyId, targetId);
  }

  @Mutation(() => Policy)
  detachPolicy(@Arg("policyId", () => ID) policyId: string, @Arg("targetId", () => ID) targetId: string, @Ctx() ctx: Context) {
    return ctx.services.policies.detach(ctx, policyId, targetId);
  }

  @FieldResolver(() => Workspace, { nullable: true, description: "Null for an organization policy." })
  workspace(@Root() policy: Policy, @Ctx() ctx: Context) {
    return ctx.services.workspaces.workspaceOf(ctx, policy);
  }
}
