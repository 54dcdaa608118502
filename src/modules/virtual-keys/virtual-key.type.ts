import { Field, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { JSONScalar } from "../../graphql/scalars.js";
import { Node } from "../common/node.type.js";
import { PageInfo } from "../common/page-info.type.js";
import { Policy } from "../policies/policy.type.js";
import { Workspace } from "../workspaces/workspace.type.js";

export enum Provider {
  OPENAI = "OPENAI",
  ANTHROPIC = "ANTHROPIC",
  AZURE_OPENAI = "AZURE_OPENAI",
  GOOGLE = "GOOGLE",
  OPENAI_COMPATIBLE = "OPENAI_COMPATIBLE",
}

registerEnumType(Provider, { name: "Provider" });

@ObjectType({
  implements: Node,
  description:
    "A provider credential, stored encrypted. Its secret is never returned by any operation; it\n" +
    "is sealed together with its endpoint, so that it opens only for the host it was stored for.",
})
export class VirtualKey implements Node {
  @Field(() => ID)
  id!: string;

  /** Raw foreign key, filled by the service; not exposed. */
  organizationId!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String)
  slug!: string;

  @Field(() => Provider)
  provider!: Provider;

  @Field(() => String, {
    nullable: true,
    description:
      "Override of the provider's endpoint; required for OPENAI_COMPATIBLE. https, with no credentials, query or fragment.",
  })
  baseUrl?: string | null;

  @Field(() => JSONScalar, {
    nullable: true,
    description: "Provider-specific settings as validated for the provider (never a secret), e.g. Azure's resourceName, deploymentId and apiVersion.",
  })
  providerOptions?: Record<string, string> | null;

  @Field(() => String, { description: "A masked hint such as sk-...3xYz." })
  secretHint!: string;

  @Field(() => Int, {
    description: "Starts at 1 and increases on every rotateVirtualKeySecret.",
  })
  secretVersion!: number;

  @Field(() => Workspace, { nullable: true })
  workspace?: Workspace | null;

  /** Raw foreign key (null for an organization-wide key), filled by the service; not exposed. */
  workspaceId?: string | null;

  /** Resolved by a field resolver (policies attached to this virtual key). */
  @Field(() => [Policy])
  policies!: Policy[];

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;

  @Field(() => Date, { nullable: true })
  lastUsedAt?: Date | null;
}

@ObjectType()
export class VirtualKeyConnection {
  @Field(() => [VirtualKey])
  nodes!: VirtualKey[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}
