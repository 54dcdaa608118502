import { Field, ID, ObjectType } from "type-graphql";
import { PrincipalKind } from "../../auth/principal-kind.js";
import { ApiKey } from "../api-keys/api-key.type.js";
import { Organization } from "../organizations/organization.type.js";
import { User } from "../users/user.type.js";

/**
 * `permissions(workspaceId: ID): [Permission!]!` is deliberately not declared here: it takes
 * an argument, so a field resolver adds it.
 */
@ObjectType({ description: "Who is calling, as the server authenticated them." })
export class Viewer {
  @Field(() => ID)
  principalId!: string;

  @Field(() => PrincipalKind)
  kind!: PrincipalKind;

  @Field(() => Organization)
  organization!: Organization;

  /** Raw foreign key, filled by the service; not exposed. */
  organizationId!: string;

  @Field(() => User, { nullable: true, description: "The signed-in person (kind USER), always readable by itself." })
  user?: User | null;

  @Field(() => ApiKey, { nullable: true, description: "The calling key (kind API_KEY), always readable by itself." })
  apiKey?: ApiKey | null;
}
