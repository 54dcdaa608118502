import { Arg, Mutation, Query, Resolver } from "type-graphql";
import { notImplemented } from "../../errors.js";
import { ConfigureSsoInput } from "./sso.input.js";
import { SsoConnection } from "./sso.type.js";

@Resolver(() => SsoConnection)
export class SsoResolver {
  @Query(() => SsoConnection, { nullable: true })
  ssoConnection(): SsoConnection | null {
    throw notImplemented("ssoConnection");
  }

  @Mutation(() => SsoConnection, {
    description:
      "Needs ORGANIZATION_WRITE. Replaces the organization's SSO settings. An issuer and audience\npair belongs to one organization only (CONFLICT); the roles mapped must be within the\ncaller's own permissions.",
  })
  configureSso(@Arg("input", () => ConfigureSsoInput) _input: ConfigureSsoInput): SsoConnection {
    throw notImplemented("configureSso");
  }
}
