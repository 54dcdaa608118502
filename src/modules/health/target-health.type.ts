import { Field, Float, Int, ObjectType, registerEnumType } from "type-graphql";

export enum CircuitState {
  CLOSED = "CLOSED",
  OPEN = "OPEN",
  HALF_OPEN = "HALF_OPEN",
}

registerEnumType(CircuitState, {
  name: "CircuitState",
  description: "CLOSED: calls go through. OPEN: the target is skipped for a cool-down after failures. HALF_OPEN: one probe call decides.",
});

@ObjectType({
  description:
    "How one target (a virtual key and a model) is doing on this server, over the recent window\n" +
    "(the last minute, at most 100 calls): its circuit, error rate and latency. A target that\n" +
    "served no call since the server started is not listed.",
})
export class TargetHealth {
  @Field(() => String)
  model!: string;

  @Field(() => CircuitState)
  state!: CircuitState;

  @Field(() => Int, { description: "Calls in the window." })
  requests!: number;

  @Field(() => Int)
  failures!: number;

  @Field(() => Float, { description: "failures / requests, 0 with no calls." })
  errorRate!: number;

  @Field(() => Int)
  consecutiveFailures!: number;

  @Field(() => Float, { nullable: true, description: "Median latency of the successful calls in the window." })
  latencyP50Ms?: number | null;

  @Field(() => Float, { nullable: true })
  latencyP95Ms?: number | null;

  @Field(() => Date, { nullable: true })
  lastFailureAt?: Date | null;

  @Field(() => Date, { nullable: true, description: "While OPEN: when the target is probed again." })
  nextProbeAt?: Date | null;
}
