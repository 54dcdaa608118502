import { Arg, Ctx, Int, Mutation, Query, Resolver } from "type-graphql";
import type { Context } from "../../context.js";
import { AuditCheckpoint, AuditCheckpointConnection, AuditSigningKey } from "./audit-checkpoint.type.js";

@Resolver()
export class AuditCheckpointResolver {
  @Query(() => AuditCheckpointConnection, { description: "The organization's signed audit checkpoints, newest first." })
  auditCheckpoints(
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.auditCheckpoints.list(ctx, { first, after });
  }

  @Query(() => AuditSigningKey)
  auditSigningKey(@Ctx() ctx: Context) {
    return ctx.services.auditCheckpoints.signingKey(ctx);
  }

  @Mutation(() => AuditCheckpoint, {
    description: "Signs the head of the organization's audit chain now; the checkpoint covers the event that records this call.",
  })
  checkpointAuditLog(@Ctx() ctx: Context) {
    return ctx.services.auditCheckpoints.checkpointNow(ctx);
  }
}
