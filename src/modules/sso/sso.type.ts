import { Field, ObjectType } from "type-graphql";
import { Role } from "../roles/role.type.js";
import { Workspace } from "../workspaces/workspace.type.js";

@ObjectType()
export class SsoRoleMapping {
  @Field(() => String)
  claimValue!: string;

  @Field(() => Role)
  role!: Role;

  /** Raw foreign key, filled by the service; not exposed. */
  roleId!: string;

  @Field(() => Workspace, {
    nullable: true,
    description: "Null binds the role in the whole organization.",
  })
  workspace?: Workspace | null;

  /** Raw foreign key (null for an organization-wide mapping), filled by the service; not exposed. */
  workspaceId?: string | null;
}

@ObjectType({
  description:
    "The organization's OIDC identity provider. A bearer JWT whose iss and aud match is\n" +
    "verified against the issuer's published JWKS; its roleClaim values are mapped to roles.",
})
export class SsoConnection {
  /** Raw foreign key, filled by the service; not exposed. */
  organizationId!: string;

  @Field(() => String)
  issuer!: string;

  @Field(() => String)
  audience!: string;

  @Field(() => String, { description: "The claim that carries group or role names, e.g. groups." })
  roleClaim!: string;

  @Field(() => [SsoRoleMapping])
  roleMappings!: SsoRoleMapping[];

  @Field(() => Boolean, {
    description: "Creates the user on first sign-in when true; otherwise only invited users may sign in.",
  })
  jitProvisioning!: boolean;

  @Field(() => Date)
  updatedAt!: Date;
}
