import { Arg, Ctx, FieldResolver, Mutation, Resolver, Root, Subscription } from "type-graphql";
import type { Context } from "../../context.js";
import { notImplemented } from "../../errors.js";
import { VirtualKey } from "../virtual-keys/virtual-key.type.js";
import { InvokeModelInput } from "./invoke.input.js";
import { InvokeAttempt, InvokeModelChunk, InvokeModelPayload } from "./invoke.type.js";

@Resolver()
export class InvokeResolver {
  @Mutation(() => InvokeModelPayload, { description: "Calls a model through a virtual key or a route, enforcing every policy that applies." })
  invokeModel(@Arg("input", () => InvokeModelInput) input: InvokeModelInput, @Ctx() ctx: Context) {
    return ctx.services.invoke.invoke(ctx, input);
  }

  @Subscription(() => InvokeModelChunk, {
    description: "The same call as invokeModel, streamed as the provider produces it.",
    subscribe: () => {
      throw notImplemented("invokeModelStream");
    },
  })
  invokeModelStream(@Arg("input", () => InvokeModelInput) _input: InvokeModelInput): InvokeModelChunk {
    throw notImplemented("invokeModelStream");
  }
}

@Resolver(() => InvokeAttempt)
export class InvokeAttemptResolver {
  /** The key tried, when the caller may read it on its own. */
  @FieldResolver(() => VirtualKey, { nullable: true })
  virtualKey(@Root() attempt: InvokeAttempt, @Ctx() ctx: Context) {
    return attempt.virtualKeyId ? (ctx.services.virtualKeys.find(ctx, attempt.virtualKeyId) ?? null) : null;
  }
}
