// The contract's scalars: graphql-scalars' implementations under the contract's descriptions.
import { GraphQLScalarType } from "graphql";
import { DateTimeResolver, JSONResolver, SafeIntResolver } from "graphql-scalars";

function describe(base: GraphQLScalarType, description: string): GraphQLScalarType {
  return new GraphQLScalarType({ ...base.toConfig(), description });
}

export const DateTimeScalar = describe(DateTimeResolver, "An ISO-8601 instant in UTC, e.g. 2026-01-31T12:00:00.000Z.");
export const JSONScalar = describe(JSONResolver, "Any JSON value.");
export const SafeIntScalar = describe(
  SafeIntResolver,
  "A whole number within +-(2^53 - 1), sent as a JSON number: counters that outgrow 32 bits.",
);
