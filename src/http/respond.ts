import type { ServerResponse } from "node:http";
import type { ErrorCode } from "../errors.js";

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader("content-type", "application/json; charset=utf-8");
  res.setHeader("content-length", Buffer.byteLength(text));
  res.end(text);
}

/** A GraphQL-shaped error answered before GraphQL runs. */
export function sendError(res: ServerResponse, status: number, code: ErrorCode, message: string, requestId: string, extra: Record<string, unknown> = {}): void {
  sendJson(res, status, { errors: [{ message, extensions: { code, requestId, ...extra } }] });
}
