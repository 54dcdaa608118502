// POST /v1/chat/completions as an application calls it (fetch, the SSE body read as it arrives),
// and the records a call leaves behind (usage rows, the invokeModel audit event), read from the
// database by request ID so that no page of the audit log is missed.
import { asc, eq } from "drizzle-orm";
import { auditEvents, usageRecords } from "../../src/db/schema.js";
import type { TestServer } from "../harness/server.js";

export interface ChatCall {
  status: number;
  headers: Headers;
  requestId: string;
  response: Response;
}

/** Sends a chat completion request with the owner key (or `token`); the body is left unread. */
export async function postChat(t: TestServer, body: Record<string, unknown>, options: { token?: string; signal?: AbortSignal } = {}): Promise<ChatCall> {
  const response = await fetch(`${t.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${options.token ?? t.ownerKey}` },
    body: JSON.stringify(body),
    signal: options.signal,
  });
  return { status: response.status, headers: response.headers, requestId: response.headers.get("x-request-id") ?? "", response };
}

/** The `data:` payloads of a server-sent event body, one by one as their events complete. */
export async function* sseData(response: Response): AsyncGenerator<string, void, undefined> {
  if (!response.body) return;
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block
          .split("\n")
          .filter((line) => line.startsWith("data:"))
          .map((line) => line.slice(5).replace(/^ /, ""))
          .join("\n");
        if (data !== "") yield data;
      }
    }
    if (buffer.trim() !== "") yield `<unterminated>${buffer}`;
  } finally {
    reader.releaseLock();
  }
}

/** Every `data:` payload of a stream that runs to its end. */
export async function allData(response: Response): Promise<string[]> {
  const out: string[] = [];
  for await (const data of sseData(response)) out.push(data);
  return out;
}

/** A whole chat completion, streamed: the chunk objects, and whether [DONE] closed the stream. */
export async function streamed(t: TestServer, body: Record<string, unknown>, options: { token?: string } = {}) {
  const call = await postChat(t, { ...body, stream: true }, options);
  const data = call.status === 200 ? await allData(call.response) : [];
  const error = call.status === 200 ? undefined : await call.response.json();
  const done = data.at(-1) === "[DONE]";
  const events = data.filter((d) => d !== "[DONE]").map((d) => JSON.parse(d));
  return { ...call, data, events, done, error };
}

export interface UsageRow {
  requestId: string;
  virtualKeyId: string | null;
  provider: string;
  model: string;
  success: boolean;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

export function usageRows(t: TestServer, requestId: string): UsageRow[] {
  return t.server.database.db.select().from(usageRecords).where(eq(usageRecords.requestId, requestId)).orderBy(asc(usageRecords.createdAt)).all();
}

/** The usage rows of one virtual key, for a call whose request ID the client never saw. */
export function usageRowsOfKey(t: TestServer, virtualKeyId: string): UsageRow[] {
  return t.server.database.db.select().from(usageRecords).where(eq(usageRecords.virtualKeyId, virtualKeyId)).orderBy(asc(usageRecords.createdAt)).all();
}

export interface AuditRecord {
  action: string;
  outcome: string;
  targetKind: string | null;
  targetId: string | null;
  details: Record<string, any> | null;
}

/** The invokeModel audit events of a request. */
export function auditRows(t: TestServer, requestId: string): AuditRecord[] {
  return t.server.database.db
    .select()
    .from(auditEvents)
    .where(eq(auditEvents.requestId, requestId))
    .orderBy(asc(auditEvents.sequence))
    .all()
    .filter((e) => e.action === "invokeModel")
    .map((e) => ({ action: e.action, outcome: e.outcome, targetKind: e.targetKind, targetId: e.targetId, details: e.details === null ? null : JSON.parse(e.details) }));
}

/**
 * Waits for something the server does after the client has gone (no answer to wait on): polls
 * the condition, failing after `ms` of wall time. It bounds a wait, it measures nothing.
 */
export async function until(check: () => boolean, what: string, ms = 5_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
