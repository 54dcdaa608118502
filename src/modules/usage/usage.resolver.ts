import { Arg, Ctx, Int, Query, Resolver } from "type-graphql";
import type { Context } from "../../context.js";
import { UsageRecordConnection } from "./usage-record.type.js";
import { UsageFilter } from "./usage.input.js";
import { UsageSummary } from "./usage.type.js";

@Resolver()
export class UsageResolver {
  @Query(() => UsageSummary)
  usage(@Arg("filter", () => UsageFilter, { nullable: true }) filter: UsageFilter | null, @Ctx() ctx: Context) {
    return ctx.services.usage.summary(ctx, filter);
  }

  @Query(() => UsageRecordConnection, {
    description: "Usage records, newest first, that the caller could read one by one (USAGE_READ in their workspace or organization-wide).",
  })
  usageRecords(
    @Arg("filter", () => UsageFilter, { nullable: true }) filter: UsageFilter | null,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.usage.list(ctx, filter, { first, after });
  }
}
