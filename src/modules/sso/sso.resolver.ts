import { Arg, Ctx, Mutation, Query, Resolver } from "type-graphql";
import type { Context } from "../../context.js";
import { ConfigureSsoInput } from "./sso.input.js";
import { SsoConnection } from "./sso.type.js";

@Resolver(() => SsoConnection)
export class SsoResolver {
  @Query(() => SsoConnection, { nullable: true })
  ssoConnection(@Ctx() ctx: Context) {
    return ctx.services.sso.get(ctx);
  }

  @Mutation(() => SsoConnection, {
    description:
      "Needs ORGANIZATION_WRITE. Replaces the organization's SSO settings. An issuer and audience\npair belongs to one organization only (CONFLICT); the roles mapped must be within the\ncaller's own permissions.",
  })
  configureSso(@Arg("input", () => ConfigureSsoInput) input: ConfigureSsoInput, @Ctx() ctx: Context) {
    return ctx.services.sso.configure(ctx, input);
  }
}
