import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.js";
import { JSONScalar } from "../../graphql/scalars.js";
import { DeletionPayload } from "../common/deletion.type.js";
import { Policy } from "../policies/policy.type.js";
import { Workspace } from "../workspaces/workspace.type.js";
import { CreateVirtualKeyInput, UpdateVirtualKeyInput, VirtualKeyFilter } from "./virtual-key.input.js";
import { VirtualKey, VirtualKeyConnection } from "./virtual-key.type.js";

@Resolver(() => VirtualKey)
export class VirtualKeyResolver {
  @Query(() => VirtualKeyConnection)
  virtualKeys(
    @Arg("filter", () => VirtualKeyFilter, { nullable: true }) filter: VirtualKeyFilter | null,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.virtualKeys.list(ctx, filter, { first, after });
  }

  @Mutation(() => VirtualKey)
  createVirtualKey(@Arg("input", () => CreateVirtualKeyInput) input: CreateVirtualKeyInput, @Ctx() ctx: Context) {
    return ctx.services.virtualKeys.create(ctx, input);
  }

  @Mutation(() => VirtualKey)
  updateVirtualKey(@Arg("input", () => UpdateVirtualKeyInput) input: UpdateVirtualKeyInput, @Ctx() ctx: Context) {
    return ctx.services.virtualKeys.update(ctx, input);
  }

  @Mutation(() => VirtualKey, {
    description:
      "Replaces the secret, and optionally the endpoint with it: a stored secret can never be\nsent to a new host by someone who does not know it.",
  })
  rotateVirtualKeySecret(
    @Arg("id", () => ID) id: string,
    @Arg("secret", () => String) secret: string,
    @Arg("baseUrl", () => String, { nullable: true }) baseUrl: string | null,
    @Arg("providerOptions", () => JSONScalar, { nullable: true }) providerOptions: unknown,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.virtualKeys.rotateSecret(ctx, id, secret, baseUrl, providerOptions);
  }

  @Mutation(() => DeletionPayload, { description: "CONFLICT while a route targets the key." })
  deleteVirtualKey(@Arg("id", () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.virtualKeys.delete(ctx, id);
  }

  @FieldResolver(() => Workspace, { nullable: true })
  workspace(@Root() key: VirtualKey, @Ctx() ctx: Context) {
    return ctx.services.workspaces.workspaceOf(ctx, key);
  }

  @FieldResolver(() => [Policy])
  policies(@Root() key: VirtualKey, @Ctx() ctx: Context) {
    return ctx.services.policies.attachedTo(ctx, key.id);
  }
}
