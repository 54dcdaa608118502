// Request-level glue around Apollo: every error carries the request ID, rate limits answer
// 429, unexpected errors are logged with their stack on the server only.
import type { ApolloServerPlugin } from "@apollo/server";
import { Kind } from "graphql";
import type { Context } from "../context.js";
import type { Logger } from "../logger.js";

export function requestPlugin(logger: Logger): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, operationName, operation }) {
          contextValue.operation.name = operationName ?? null;
          const first = operation?.selectionSet.selections.find((s) => s.kind === Kind.FIELD);
          contextValue.operation.field = first?.kind === Kind.FIELD ? first.name.value : null;
        },
        async didEncounterErrors({ contextValue, errors }) {
          for (const err of errors) {
            const code = err.extensions?.code;
            if (code === undefined || code === "INTERNAL_SERVER_ERROR") {
              const original = err.originalError ?? err;
              logger.error({ requestId: contextValue.requestId, err: { type: original.name, message: original.message, stack: original.stack } }, "unexpected error");
            }
          }
        },
        async willSendResponse({ contextValue, response }) {
          if (response.body.kind !== "single") return;
          const errors = response.body.singleResult.errors;
          if (!errors) return;
          response.body.singleResult.errors = errors.map((e) => ({ ...e, extensions: { ...e.extensions, requestId: contextValue.requestId } }));
          if (errors.some((e) => e.extensions?.code === "RATE_LIMITED")) response.http.status = 429;
        },
      };
    },
  };
}
