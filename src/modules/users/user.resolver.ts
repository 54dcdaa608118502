import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import type { Context } from "../../context.js";
import { notImplemented } from "../../errors.js";
import { InviteUserInput } from "./user.input.js";
import { DeleteUserPayload, User, UserConnection } from "./user.type.js";

@Resolver(() => User)
export class UserResolver {
  @Query(() => UserConnection)
  users(
    @Arg("first", () => Int, { nullable: true }) _first: number | null,
    @Arg("after", () => String, { nullable: true }) _after: string | null,
    @Ctx() _ctx: Context,
  ): UserConnection {
    throw notImplemented("users");
  }

  @Mutation(() => User)
  inviteUser(@Arg("input", () => InviteUserInput) _input: InviteUserInput): User {
    throw notImplemented("inviteUser");
  }

  @Mutation(() => User)
  suspendUser(@Arg("id", () => ID) _id: string): User {
    throw notImplemented("suspendUser");
  }

  @Mutation(() => DeleteUserPayload, {
    description: "Erases the person: their data is removed, the API keys they own are revoked, and their\naudit entries keep only the principal ID.",
  })
  deleteUser(@Arg("id", () => ID) _id: string): DeleteUserPayload {
    throw notImplemented("deleteUser");
  }
}
