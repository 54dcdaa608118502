// Every mutation leaves an audit event. Successful ones write theirs inside the service's
// transaction; this middleware, outermost, records the ones that were denied or failed.
import type { GraphQLResolveInfo } from "graphql";
import type { IMiddlewareFunction } from "graphql-middleware";
import type { Context } from "../context.js";
import { AppError } from "../errors.js";
import { idKind, isId } from "../ids.js";
import { failureOutcome, isAudited } from "../modules/audit/audit-outcome.js";

/** The target an audit event names: only a well-formed ID from the arguments, never free text. */
function targetOf(args: Record<string, unknown>): { targetId: string | null; targetKind: string | null } {
  const input = args.input as Record<string, unknown> | undefined;
  const candidate = args.id ?? args.policyId ?? input?.id;
  if (!isId(candidate)) return { targetId: null, targetKind: null };
  return { targetId: candidate, targetKind: idKind(candidate) ?? null };
}

export const recordFailedMutations: IMiddlewareFunction = async (resolve, parent, args, ctx: Context, info: GraphQLResolveInfo) => {
  if (info.parentType.name !== "Mutation") return resolve(parent, args, ctx, info);
  let outcome: unknown;
  try {
    outcome = await resolve(parent, args, ctx, info);
  } catch (err) {
    record(ctx, info.fieldName, args, err);
    throw err;
  }
  // graphql-shield returns (rather than throws) the error of a denied rule.
  if (outcome instanceof Error) record(ctx, info.fieldName, args, outcome);
  return outcome;
};

function record(ctx: Context, action: string, args: Record<string, unknown>, err: unknown): void {
  if (isAudited(err)) return;
  const code = err instanceof AppError ? err.code : ((err as { extensions?: { code?: string } })?.extensions?.code ?? "INTERNAL_SERVER_ERROR");
  ctx.services.auditWriter.record({
    organizationId: ctx.principal.organizationId,
    actorKind: ctx.principal.kind,
    actorId: ctx.principal.id,
    action,
    ...targetOf(args),
    outcome: failureOutcome(code),
    ip: ctx.ip,
    userAgent: ctx.userAgent,
    requestId: ctx.requestId,
    details: { code },
  });
}
