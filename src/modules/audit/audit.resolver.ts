import { Arg, Ctx, Int, Query, Resolver } from "type-graphql";
import type { Context } from "../../context.js";
import { SafeIntScalar } from "../../graphql/scalars.js";
import { AuditFilter } from "./audit-event.input.js";
import { AuditEventConnection, AuditVerification } from "./audit-event.type.js";

@Resolver()
export class AuditResolver {
  @Query(() => AuditEventConnection)
  auditEvents(
    @Arg("filter", () => AuditFilter, { nullable: true }) filter: AuditFilter | null,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.audit.list(ctx, filter, { first, after });
  }

  @Query(() => AuditVerification)
  verifyAuditLog(
    @Arg("fromSequence", () => SafeIntScalar, { nullable: true }) fromSequence: number | null,
    @Arg("toSequence", () => SafeIntScalar, { nullable: true }) toSequence: number | null,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.audit.verify(ctx, fromSequence, toSequence);
  }
}
