import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.js";
import { Policy } from "../policies/policy.type.js";
import { RoleBinding } from "../roles/role.type.js";
import { User } from "../users/user.type.js";
import { Workspace } from "../workspaces/workspace.type.js";
import { ApiKeyFilter, CreateApiKeyInput } from "./api-key.input.js";
import { ApiKey, ApiKeyConnection, ApiKeySecretPayload } from "./api-key.type.js";

@Resolver(() => ApiKey)
export class ApiKeyResolver {
  @Query(() => ApiKeyConnection)
  apiKeys(
    @Arg("filter", () => ApiKeyFilter, { nullable: true }) filter: ApiKeyFilter | null,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.apiKeys.list(ctx, filter, { first, after });
  }

  @Mutation(() => ApiKeySecretPayload)
  createApiKey(@Arg("input", () => CreateApiKeyInput) input: CreateApiKeyInput, @Ctx() ctx: Context) {
    return ctx.services.apiKeys.create(ctx, input);
  }

  @Mutation(() => ApiKey)
  revokeApiKey(@Arg("id", () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.apiKeys.revoke(ctx, id);
  }

  @Mutation(() => ApiKeySecretPayload, {
    description:
      "Issues a new secret for the same key. The old secret keeps working for\ngracePeriodSeconds (default 0: it stops at once; at most 604800), then never again.",
  })
  rotateApiKey(@Arg("id", () => ID) id: string, @Arg("gracePeriodSeconds", () => Int, { nullable: true }) grace: number | null, @Ctx() ctx: Context) {
    return ctx.services.apiKeys.rotate(ctx, id, grace);
  }

  @FieldResolver(() => Workspace, { nullable: true, description: "Null for an organization-wide key." })
  workspace(@Root() key: ApiKey, @Ctx() ctx: Context) {
    return ctx.services.workspaces.workspaceOf(ctx, key);
  }

  @FieldResolver(() => User, { nullable: true, description: "Null for a service key that belongs to no person." })
  owner(@Root() key: ApiKey, @Ctx() ctx: Context) {
    return key.ownerUserId ? (ctx.services.users.find(ctx, key.ownerUserId) ?? null) : null;
  }

  @FieldResolver(() => [RoleBinding])
  roleBindings(@Root() key: ApiKey, @Ctx() ctx: Context) {
    return ctx.services.roles.bindingsOf(ctx, key.id);
  }

  @FieldResolver(() => [Policy])
  policies(@Root() key: ApiKey, @Ctx() ctx: Context) {
    return ctx.services.policies.attachedTo(ctx, key.id);
  }
}
