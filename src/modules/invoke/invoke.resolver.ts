import { Arg, Mutation, Resolver, Subscription } from "type-graphql";
import { notImplemented } from "../../errors.js";
import { InvokeModelInput } from "./invoke.input.js";
import { InvokeModelChunk, InvokeModelPayload } from "./invoke.type.js";

@Resolver()
export class InvokeResolver {
  @Mutation(() => InvokeModelPayload, { description: "Calls a model through a virtual key or a route, enforcing every policy that applies." })
  invokeModel(@Arg("input", () => InvokeModelInput) _input: InvokeModelInput): InvokeModelPayload {
    throw notImplemented("invokeModel");
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
