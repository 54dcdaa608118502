import { Arg, Ctx, Query, Resolver } from "type-graphql";
import type { Context } from "../../context.js";
import { UsageFilter } from "./usage.input.js";
import { UsageSummary } from "./usage.type.js";

@Resolver()
export class UsageResolver {
  @Query(() => UsageSummary)
  usage(@Arg("filter", () => UsageFilter, { nullable: true }) filter: UsageFilter | null, @Ctx() ctx: Context) {
    return ctx.services.usage.summary(ctx, filter);
  }
}
