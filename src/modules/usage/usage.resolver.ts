import { Arg, Query, Resolver } from "type-graphql";
import { notImplemented } from "../../errors.js";
import { UsageFilter } from "./usage.input.js";
import { UsageSummary } from "./usage.type.js";

@Resolver()
export class UsageResolver {
  @Query(() => UsageSummary)
  usage(@Arg("filter", () => UsageFilter, { nullable: true }) _filter: UsageFilter | null): UsageSummary {
    throw notImplemented("usage");
  }
}
