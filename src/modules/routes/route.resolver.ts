import { Arg, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import { notImplemented } from "../../errors.js";
import { DeletionPayload } from "../common/deletion.type.js";
import { CreateRouteInput, UpdateRouteInput } from "./route.input.js";
import { Route, RouteConnection } from "./route.type.js";

@Resolver(() => Route)
export class RouteResolver {
  @Query(() => RouteConnection)
  routes(
    @Arg("first", () => Int, { nullable: true }) _first: number | null,
    @Arg("after", () => String, { nullable: true }) _after: string | null,
  ): RouteConnection {
    throw notImplemented("routes");
  }

  @Mutation(() => Route)
  createRoute(@Arg("input", () => CreateRouteInput) _input: CreateRouteInput): Route {
    throw notImplemented("createRoute");
  }

  @Mutation(() => Route)
  updateRoute(@Arg("input", () => UpdateRouteInput) _input: UpdateRouteInput): Route {
    throw notImplemented("updateRoute");
  }

  @Mutation(() => DeletionPayload)
  deleteRoute(@Arg("id", () => ID) _id: string): DeletionPayload {
    throw notImplemented("deleteRoute");
  }
}
