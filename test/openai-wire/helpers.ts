// Shared steps of the OpenAI wire format tests: one server and one mock provider per file,
// raw calls to /v1/*, and the shape every wire error must have.
import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, expect } from "vitest";
import { usageRecords } from "../../src/db/schema.js";
import { startMockProvider, type MockProvider } from "../harness/mock-provider.js";
import { startServer, type TestServer } from "../harness/server.js";
import { PRIVATE_NETWORK } from "../invoke/helpers.js";

/** A value that appears nowhere else, to look for in answers and logs. */
export function canaryValue(label = "canary"): string {
  return `canary-${label}-${randomBytes(12).toString("hex")}`;
}

export interface WireResponse {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

export interface WireInit {
  token?: string | null;
  method?: string;
  /** Sent as JSON, unless it is already a string. */
  body?: unknown;
  headers?: Record<string, string>;
}

/** One call to a /v1 endpoint over real HTTP. */
export async function wire(t: TestServer, path: string, init: WireInit = {}): Promise<WireResponse> {
  const headers: Record<string, string> = { "content-type": "application/json", ...init.headers };
  if (init.token !== null && init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  const method = init.method ?? "POST";
  const res = await fetch(`${t.url}${path}`, {
    method,
    headers,
    body: init.body === undefined ? undefined : typeof init.body === "string" ? init.body : JSON.stringify(init.body),
  });
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, text, body };
}

export const hi = [{ role: "user", content: "hi" }];

/** POST /v1/chat/completions with a minimal valid body, extended or overridden by `extra`. */
export function chat(t: TestServer, token: string | null, model: string, extra: Record<string, unknown> = {}): Promise<WireResponse> {
  return wire(t, "/v1/chat/completions", { token, body: { model, messages: hi, ...extra } });
}

/** Asserts OpenAI's error shape, with the request ID the server answered in x-request-id. */
export function expectWireError(res: WireResponse, status: number, code?: string): { message: string; type: string; param: string | null; code: string; request_id: string } {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  expect(Object.keys(res.body ?? {}), res.text).toEqual(["error"]);
  const error = res.body.error;
  expect(Object.keys(error).sort()).toEqual(["code", "message", "param", "request_id", "type"]);
  expect(typeof error.message).toBe("string");
  expect(typeof error.type).toBe("string");
  expect(error.request_id).toBe(res.headers.get("x-request-id"));
  if (code !== undefined) expect(error.code, res.text).toBe(code);
  return error;
}

/** The error body without its request ID, for comparing two refusals. */
export function withoutRequestId(res: WireResponse): unknown {
  const { request_id: _ignored, ...rest } = res.body.error;
  return { error: rest };
}

/** The usage rows a request wrote. */
export function usageRows(t: TestServer, requestId: string) {
  return t.server.database.db.select().from(usageRecords).where(eq(usageRecords.requestId, requestId)).all();
}

/**
 * A server that may reach loopback providers (with more env when given) and mock providers,
 * started once for the file; each test starts with the mocks reset and every circuit closed.
 */
export function useWireServer(env: Record<string, string>, mocks: number, ready: (t: TestServer, mocks: MockProvider[]) => void | Promise<void>): void {
  let t: TestServer;
  let started: MockProvider[] = [];
  beforeAll(async () => {
    t = await startServer({ env: { ...PRIVATE_NETWORK, ...env } });
    started = await Promise.all(Array.from({ length: mocks }, () => startMockProvider()));
    await ready(t, started);
  });
  afterAll(async () => {
    await t?.stop();
    await Promise.all(started.map((m) => m.close()));
  });
  beforeEach(() => {
    for (const m of started) m.reset();
    t.server.services.health.clear();
  });
}
