import { JSONScalar } from "../../graphql/scalars.js";
import { Field, ID, InputType } from "type-graphql";
import { Provider } from "./virtual-key.type.js";

@InputType()
export class VirtualKeyFilter {
  @Field(() => ID, { nullable: true })
  workspaceId?: string | null;

  @Field(() => Provider, { nullable: true })
  provider?: Provider | null;
}

@InputType()
export class CreateVirtualKeyInput {
  @Field(() => String)
  name!: string;

  @Field(() => String, { nullable: true })
  slug?: string | null;

  @Field(() => Provider)
  provider!: Provider;

  @Field(() => String)
  secret!: string;

  @Field(() => String, { nullable: true })
  baseUrl?: string | null;

  @Field(() => ID, { nullable: true })
  workspaceId?: string | null;

  @Field(() => [ID], { nullable: true })
  policyIds?: string[] | null;

  @Field(() => JSONScalar, {
    nullable: true,
    description: "Provider-specific settings, e.g. Azure's resourceName, deploymentId and apiVersion.",
  })
  providerOptions?: unknown;
}

@InputType({
  description: "The endpoint (baseUrl, providerOptions) changes only with rotateVirtualKeySecret.",
})
export class UpdateVirtualKeyInput {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  name?: string | null;
}
