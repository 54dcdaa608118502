// The contract's error codes as OpenAI's error shapes and statuses, so that the SDKs' own retry
// logic behaves: they retry 408, 409, 429 and 5xx unless told `x-should-retry: false`.
import type { ServerResponse } from "node:http";
import { AppError, type ErrorCode } from "../../errors.js";

interface WireError {
  status: number;
  type: string;
  code: string;
  retry?: false;
}

const BY_CODE: Record<ErrorCode, WireError> = {
  UNAUTHENTICATED: { status: 401, type: "authentication_error", code: "invalid_api_key" },
  FORBIDDEN: { status: 403, type: "permission_error", code: "forbidden" },
  MODEL_NOT_ALLOWED: { status: 403, type: "permission_error", code: "model_not_allowed" },
  BAD_USER_INPUT: { status: 400, type: "invalid_request_error", code: "invalid_value" },
  BAD_REQUEST: { status: 400, type: "invalid_request_error", code: "invalid_request" },
  GRAPHQL_PARSE_FAILED: { status: 400, type: "invalid_request_error", code: "invalid_request" },
  GRAPHQL_VALIDATION_FAILED: { status: 400, type: "invalid_request_error", code: "invalid_request" },
  NOT_FOUND: { status: 404, type: "invalid_request_error", code: "model_not_found" },
  CONFLICT: { status: 409, type: "invalid_request_error", code: "conflict" },
  RATE_LIMITED: { status: 429, type: "rate_limit_error", code: "rate_limit_exceeded" },
  // A spent budget does not come back by retrying within seconds.
  BUDGET_EXCEEDED: { status: 429, type: "insufficient_quota", code: "budget_exceeded", retry: false },
  PROVIDER_ERROR: { status: 502, type: "api_error", code: "provider_error" },
  PROVIDER_TIMEOUT: { status: 504, type: "api_error", code: "provider_timeout" },
  INTERNAL_SERVER_ERROR: { status: 500, type: "api_error", code: "internal_error" },
};

/** OpenAI's error body for an error (its message is ours: a provider's body never gets here). */
/** Every target rate-limited the call: a 429 the SDKs wait on (with the provider's retry-after), not a 502. */
const PROVIDER_RATE_LIMITED: WireError = { status: 429, type: "rate_limit_error", code: "provider_rate_limited" };

export function wireError(err: AppError, requestId: string, override?: Partial<WireError>): { status: number; headers: Record<string, string>; body: string } {
  const byCode = err.code === "PROVIDER_ERROR" && err.extensions.httpStatus === 429 ? PROVIDER_RATE_LIMITED : BY_CODE[err.code];
  const shape = { ...(byCode ?? BY_CODE.INTERNAL_SERVER_ERROR), ...override };
  const headers: Record<string, string> = {};
  const retryAfter = err.extensions.retryAfterSeconds;
  if (typeof retryAfter === "number") headers["retry-after"] = String(Math.max(1, Math.ceil(retryAfter)));
  if (shape.retry === false) headers["x-should-retry"] = "false";
  const field = typeof err.extensions.field === "string" ? err.extensions.field : null;
  const message = err.code === "INTERNAL_SERVER_ERROR" ? "Internal server error" : err.message;
  return { status: shape.status, headers, body: JSON.stringify({ error: { message, type: shape.type, param: field, code: shape.code, request_id: requestId } }) };
}

export function sendWireError(res: ServerResponse, err: AppError, requestId: string, override?: Partial<WireError>): void {
  const { status, headers, body } = wireError(err, requestId, override);
  res.statusCode = status;
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader("content-type", "application/json; charset=utf-8");
  res.setHeader("content-length", Buffer.byteLength(body));
  res.end(body);
}

/** The same as a stream's last event: OpenAI's SDKs raise an error for a `data:` event with an `error` field. */
export function wireErrorEvent(err: AppError, requestId: string): string {
  return `data: ${wireError(err, requestId).body}\n\n`;
}
