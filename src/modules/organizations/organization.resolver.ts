import { Ctx, Query, Resolver } from "type-graphql";
import type { Context } from "../../context.js";
import { notFound } from "../../errors.js";
import { Organization } from "./organization.type.js";

@Resolver(() => Organization)
export class OrganizationResolver {
  @Query(() => Organization)
  organization(@Ctx() ctx: Context) {
    return ctx.services.organizations.get(ctx.principal.organizationId) ?? Promise.reject(notFound("Organization"));
  }
}
