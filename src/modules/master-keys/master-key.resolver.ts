import { Ctx, Mutation, Resolver } from "type-graphql";
import type { Context } from "../../context.js";
import { MasterKeyRotation } from "./master-key.type.js";

@Resolver()
export class MasterKeyResolver {
  @Mutation(() => MasterKeyRotation, {
    description:
      "Wraps the organization's data key under the newest master key version; secrets\nthemselves are not re-encrypted. The command line re-wraps every organization's.",
  })
  rotateMasterKey(@Ctx() ctx: Context) {
    return ctx.services.masterKeys.rotateOrganization(ctx);
  }
}
