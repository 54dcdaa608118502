import { Arg, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import { notImplemented } from "../../errors.js";
import { JSONScalar } from "../../graphql/scalars.js";
import { DeletionPayload } from "../common/deletion.type.js";
import { CreateVirtualKeyInput, UpdateVirtualKeyInput, VirtualKeyFilter } from "./virtual-key.input.js";
import { VirtualKey, VirtualKeyConnection } from "./virtual-key.type.js";

@Resolver(() => VirtualKey)
export class VirtualKeyResolver {
  @Query(() => VirtualKeyConnection)
  virtualKeys(
    @Arg("filter", () => VirtualKeyFilter, { nullable: true }) _filter: VirtualKeyFilter | null,
    @Arg("first", () => Int, { nullable: true }) _first: number | null,
    @Arg("after", () => String, { nullable: true }) _after: string | null,
  ): VirtualKeyConnection {
    throw notImplemented("virtualKeys");
  }

  @Mutation(() => VirtualKey)
  createVirtualKey(@Arg("input", () => CreateVirtualKeyInput) _input: CreateVirtualKeyInput): VirtualKey {
    throw notImplemented("createVirtualKey");
  }

  @Mutation(() => VirtualKey)
  updateVirtualKey(@Arg("input", () => UpdateVirtualKeyInput) _input: UpdateVirtualKeyInput): VirtualKey {
    throw notImplemented("updateVirtualKey");
  }

  @Mutation(() => VirtualKey, {
    description:
      "Replaces the secret, and optionally the endpoint with it: a stored secret can never be\nsent to a new host by someone who does not know it.",
  })
  rotateVirtualKeySecret(
    @Arg("id", () => ID) _id: string,
    @Arg("secret", () => String) _secret: string,
    @Arg("baseUrl", () => String, { nullable: true }) _baseUrl: string | null,
    @Arg("providerOptions", () => JSONScalar, { nullable: true }) _providerOptions: unknown,
  ): VirtualKey {
    throw notImplemented("rotateVirtualKeySecret");
  }

  @Mutation(() => DeletionPayload, { description: "CONFLICT while a route targets the key." })
  deleteVirtualKey(@Arg("id", () => ID) _id: string): DeletionPayload {
    throw notImplemented("deleteVirtualKey");
  }
}
