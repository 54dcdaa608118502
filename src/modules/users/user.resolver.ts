import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.js";
import { RoleBinding } from "../roles/role.type.js";
import { InviteUserInput } from "./user.input.js";
import { DeleteUserPayload, User, UserConnection } from "./user.type.js";

@Resolver(() => User)
export class UserResolver {
  @Query(() => UserConnection)
  users(
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.users.list(ctx, { first, after });
  }

  @Mutation(() => User)
  inviteUser(@Arg("input", () => InviteUserInput) input: InviteUserInput, @Ctx() ctx: Context) {
    return ctx.services.users.invite(ctx, input);
  }

  @Mutation(() => User)
  suspendUser(@Arg("id", () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.users.suspend(ctx, id);
  }

  @Mutation(() => DeleteUserPayload, {
    description: "Erases the person: their data is removed, the API keys they own are revoked, and their\naudit entries keep only the principal ID.",
  })
  deleteUser(@Arg("id", () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.users.delete(ctx, id);
  }

  @FieldResolver(() => [RoleBinding])
  roleBindings(@Root() user: User, @Ctx() ctx: Context) {
    return ctx.services.roles.bindingsOf(ctx, user.id);
  }
}
