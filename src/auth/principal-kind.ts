import { registerEnumType } from "type-graphql";

export enum PrincipalKind {
  USER = "USER",
  API_KEY = "API_KEY",
}

registerEnumType(PrincipalKind, { name: "PrincipalKind" });
