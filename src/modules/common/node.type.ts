import { Field, ID, InterfaceType } from "type-graphql";
import { idKind } from "../../ids.js";

@InterfaceType({
  description:
    "Every stored object has a globally unique, opaque ID that starts with a type prefix (e.g. ak_, vk_, ws_).",
  // The ID prefix names the GraphQL type, so services can return plain rows.
  resolveType: (value: { id: string }) => idKind(value.id),
})
export abstract class Node {
  @Field(() => ID)
  id!: string;
}
