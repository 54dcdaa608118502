import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.js";
import { DeletionPayload } from "../common/deletion.type.js";
import { Workspace } from "../workspaces/workspace.type.js";
import { CreateRouteInput, UpdateRouteInput } from "./route.input.js";
import { Route, RouteConnection } from "./route.type.js";

@Resolver(() => Route)
export class RouteResolver {
  @Query(() => RouteConnection)
  routes(
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.routes.list(ctx, { first, after });
  }

  @Mutation(() => Route)
  createRoute(@Arg("input", () => CreateRouteInput) input: CreateRouteInput, @Ctx() ctx: Context) {
    return ctx.services.routes.create(ctx, input);
  }

  @Mutation(() => Route)
  updateRoute(@Arg("input", () => UpdateRouteInput) input: UpdateRouteInput, @Ctx() ctx: Context) {
    return ctx.services.routes.update(ctx, input);
  }

  @Mutation(() => DeletionPayload)
  deleteRoute(@Arg("id", () => ID) id: string, @Ctx() ctx: Context) {
    return ctx.services.routes.delete(ctx, id);
  }

  @FieldResolver(() => Workspace, { nullable: true, description: "Null for an organization-wide route." })
  workspace(@Root() route: Route, @Ctx() ctx: Context) {
    return ctx.services.workspaces.workspaceOf(ctx, route);
  }
}
