// The live health of targets, where operators look for it: on each route target and each
// virtual key. Readable by whoever can read the route or the key.
import { Ctx, FieldResolver, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.js";
import { RouteTarget } from "../routes/route.type.js";
import { VirtualKey } from "../virtual-keys/virtual-key.type.js";
import { TargetHealth } from "./target-health.type.js";

const DESCRIPTION = "The circuit, error rate and latency of each model this target served recently on this server.";

@Resolver(() => RouteTarget)
export class RouteTargetHealthResolver {
  @FieldResolver(() => [TargetHealth], { description: DESCRIPTION })
  health(@Root() target: RouteTarget, @Ctx() ctx: Context): TargetHealth[] {
    return ctx.services.targetHealth.of(target.virtualKeyId, target.model ?? null);
  }
}

@Resolver(() => VirtualKey)
export class VirtualKeyHealthResolver {
  @FieldResolver(() => [TargetHealth], { description: DESCRIPTION })
  health(@Root() key: VirtualKey, @Ctx() ctx: Context): TargetHealth[] {
    return ctx.services.targetHealth.of(key.id, null);
  }
}
