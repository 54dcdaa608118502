import { Arg, Ctx, FieldResolver, Mutation, Resolver, Root, Subscription, type SubscribeResolverData } from "type-graphql";
import type { Context } from "../../context.js";
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
    // graphql-ws calls return() when the client completes the subscription or disconnects.
    // return() aborts the signal at once (a generator awaiting the provider would only see
    // return() after that await settles), then returns the service's generator so that its
    // finally blocks run; next() after an abort ends the stream instead of raising its error.
    subscribe: ({ args, context }: SubscribeResolverData<unknown, { input: InvokeModelInput }, Context>) => {
      const controller = new AbortController();
      const stream = context.services.invoke.stream(context, args.input, controller.signal);
      const done = { done: true as const, value: undefined };
      const stop = () => {
        controller.abort();
        stream.return(undefined).catch(() => {});
      };
      const chunks: AsyncIterableIterator<unknown> = {
        [Symbol.asyncIterator]() {
          return this;
        },
        async next() {
          if (controller.signal.aborted) return done;
          try {
            return await stream.next();
          } catch (err) {
            if (controller.signal.aborted) return done;
            throw err;
          }
        },
        async return() {
          stop();
          return done;
        },
        async throw(err?: unknown) {
          stop();
          throw err;
        },
      };
      return chunks;
    },
  })
  /** Each chunk the subscribe function yields arrives here as the root of one event. */
  invokeModelStream(@Root() chunk: InvokeModelChunk, @Arg("input", () => InvokeModelInput) _input: InvokeModelInput): InvokeModelChunk {
    return chunk;
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
