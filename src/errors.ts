// The closed error vocabulary of the contract. Services throw AppError; anything else that
// reaches the client is masked as INTERNAL_SERVER_ERROR (src/graphql/format-error.ts).
import { GraphQLError } from "graphql";

export const ERROR_CODES = [
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "BAD_USER_INPUT",
  "NOT_FOUND",
  "CONFLICT",
  "RATE_LIMITED",
  "BUDGET_EXCEEDED",
  "MODEL_NOT_ALLOWED",
  "PROVIDER_ERROR",
  "PROVIDER_TIMEOUT",
  "INTERNAL_SERVER_ERROR",
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_REQUEST",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class AppError extends GraphQLError {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { ...extensions, code } });
    this.code = code;
  }
}

export const notFound = (what: string) => new AppError("NOT_FOUND", `${what} not found`);
export const forbidden = (message = "You do not have permission to do this") => new AppError("FORBIDDEN", message);
export const conflict = (message: string) => new AppError("CONFLICT", message);
export const badInput = (message: string, field?: string) =>
  new AppError("BAD_USER_INPUT", message, field ? { field } : {});
export const unauthenticated = () => new AppError("UNAUTHENTICATED", "Authentication required");
export const rateLimited = (retryAfterSeconds?: number) =>
  new AppError("RATE_LIMITED", "Too many requests", retryAfterSeconds ? { retryAfterSeconds } : {});
export const notImplemented = (field: string) =>
  new AppError("FORBIDDEN", `${field} is not available on this server yet`);
