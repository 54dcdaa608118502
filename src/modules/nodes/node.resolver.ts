import { Arg, Ctx, ID, Query, Resolver } from "type-graphql";
import type { Context } from "../../context.js";
import { notFound } from "../../errors.js";
import { Node } from "../common/node.type.js";

@Resolver()
export class NodeResolver {
  @Query(() => Node, { nullable: true })
  node(@Arg("id", () => ID) id: string, @Ctx() ctx: Context) {
    const found = ctx.services.nodes.load(ctx, id);
    if (!found) throw notFound("Object");
    return found;
  }
}
