import type { GraphQLSchema } from "graphql";
import { applyMiddleware } from "graphql-middleware";
import { buildSchemaSync } from "type-graphql";
import { permissionShield } from "../auth/permission-map.js";
import { recordFailedMutations } from "./audit-failures.js";
import { resolvers } from "./resolvers.js";
import { DateTimeScalar } from "./scalars.js";

/** The schema as type-graphql declares it: what schema.graphql is printed from. */
export function buildBareSchema(emitSchemaFile?: string): GraphQLSchema {
  return buildSchemaSync({
    resolvers,
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    validate: false,
    // Subscriptions supply their own subscribe functions; topics are not used.
    pubSub: { publish: () => undefined, subscribe: () => (async function* () {})() },
    emitSchemaFile: emitSchemaFile ? { path: emitSchemaFile, sortedSchema: false } : false,
  });
}

/** The served schema: failed mutations audited (outermost), then the permission map. */
export function buildSchema(): GraphQLSchema {
  const bare = buildBareSchema();
  return applyMiddleware(bare, { Mutation: recordFailedMutations }, permissionShield(bare));
}
