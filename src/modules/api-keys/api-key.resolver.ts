import { Arg, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import { notImplemented } from "../../errors.js";
import { ApiKeyFilter, CreateApiKeyInput } from "./api-key.input.js";
import { ApiKey, ApiKeyConnection, ApiKeySecretPayload } from "./api-key.type.js";

@Resolver(() => ApiKey)
export class ApiKeyResolver {
  @Query(() => ApiKeyConnection)
  apiKeys(
    @Arg("filter", () => ApiKeyFilter, { nullable: true }) _filter: ApiKeyFilter | null,
    @Arg("first", () => Int, { nullable: true }) _first: number | null,
    @Arg("after", () => String, { nullable: true }) _after: string | null,
  ): ApiKeyConnection {
    throw notImplemented("apiKeys");
  }

  @Mutation(() => ApiKeySecretPayload)
  createApiKey(@Arg("input", () => CreateApiKeyInput) _input: CreateApiKeyInput): ApiKeySecretPayload {
    throw notImplemented("createApiKey");
  }

  @Mutation(() => ApiKey)
  revokeApiKey(@Arg("id", () => ID) _id: string): ApiKey {
    throw notImplemented("revokeApiKey");
  }

  @Mutation(() => ApiKeySecretPayload, {
    description:
      "Issues a new secret for the same key. The old secret keeps working for\ngracePeriodSeconds (default 0: it stops at once; at most 604800), then never again.",
  })
  rotateApiKey(@Arg("id", () => ID) _id: string, @Arg("gracePeriodSeconds", () => Int, { nullable: true }) _grace: number | null): ApiKeySecretPayload {
    throw notImplemented("rotateApiKey");
  }
}
