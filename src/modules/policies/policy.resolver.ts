import { Arg, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import { notImplemented } from "../../errors.js";
import { DeletionPayload } from "../common/deletion.type.js";
import { CreatePolicyInput, PolicyFilter, UpdatePolicyInput } from "./policy.input.js";
import { Policy, PolicyConnection } from "./policy.type.js";

@Resolver(() => Policy)
export class PolicyResolver {
  @Query(() => PolicyConnection)
  policies(
    @Arg("filter", () => PolicyFilter, { nullable: true }) _filter: PolicyFilter | null,
    @Arg("first", () => Int, { nullable: true }) _first: number | null,
    @Arg("after", () => String, { nullable: true }) _after: string | null,
  ): PolicyConnection {
    throw notImplemented("policies");
  }

  @Mutation(() => Policy)
  createPolicy(@Arg("input", () => CreatePolicyInput) _input: CreatePolicyInput): Policy {
    throw notImplemented("createPolicy");
  }

  @Mutation(() => Policy)
  updatePolicy(@Arg("input", () => UpdatePolicyInput) _input: UpdatePolicyInput): Policy {
    throw notImplemented("updatePolicy");
  }

  @Mutation(() => DeletionPayload)
  deletePolicy(@Arg("id", () => ID) _id: string): DeletionPayload {
    throw notImplemented("deletePolicy");
  }

  @Mutation(() => Policy, { description: "targetId is an API key, a virtual key, a route or a workspace." })
  attachPolicy(@Arg("policyId", () => ID) _policyId: string, @Arg("targetId", () => ID) _targetId: string): Policy {
    throw notImplemented("attachPolicy");
  }

  @Mutation(() => Policy)
  detachPolicy(@Arg("policyId", () => ID) _policyId: string, @Arg("targetId", () => ID) _targetId: string): Policy {
    throw notImplemented("detachPolicy");
  }
}
