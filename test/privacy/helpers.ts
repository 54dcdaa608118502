// Shared steps of the privacy tests: canary words that redaction leaves alone, and the calls
// that carry them through both doors, whole and streamed.
import { randomInt } from "node:crypto";
import { expect } from "vitest";
import type { MockProvider } from "../harness/mock-provider.js";
import type { TestServer } from "../harness/server.js";
import { subscribe, wsClient } from "../harness/ws-client.js";
import { INVOKE } from "../invoke/helpers.js";
import { postChat, streamed } from "../streaming/sse-client.js";

/** Letters only: no pattern of the redactor takes it, so stored text keeps it as it is. */
export function canaryWord(label: string): string {
  let s = "";
  for (let i = 0; i < 20; i++) s += String.fromCharCode(97 + randomInt(26));
  return `Canary${label}${s}`;
}

export const STREAM = `subscription($input: InvokeModelInput!) { invokeModelStream(input: $input) { id delta finishReason } }`;

export interface CarriedCall {
  door: "invokeModel" | "invokeModelStream" | "chat/completions" | "chat/completions stream";
  requestId: string;
}

/**
 * One call through each door and mode, each with its own prompt and the mock's own completion
 * (prompt(door), completion(door)); every call must succeed.
 */
export async function callEveryDoor(
  t: TestServer,
  mock: MockProvider,
  key: { id: string; slug: string },
  prompt: (door: CarriedCall["door"]) => string,
  completion: (door: CarriedCall["door"]) => string,
): Promise<CarriedCall[]> {
  const calls: CarriedCall[] = [];

  mock.enqueue({ kind: "ok", content: completion("invokeModel") });
  const whole = await t.client(t.ownerKey).data(INVOKE, { input: { virtualKey: key.id, model: "gpt-4o", messages: [{ role: "SYSTEM", content: "Be brief." }, { role: "USER", content: prompt("invokeModel") }] } });
  expect(whole.invokeModel.message.content).toBe(completion("invokeModel"));
  calls.push({ door: "invokeModel", requestId: whole.invokeModel.id });

  mock.enqueue({ kind: "ok", content: completion("invokeModelStream") });
  const ws = wsClient(t.url, t.ownerKey);
  try {
    const sub = subscribe(ws, STREAM, { input: { virtualKey: key.slug, model: "gpt-4o", messages: [{ role: "USER", content: prompt("invokeModelStream") }] } });
    await sub.ended;
    const chunks = sub.results.map((r: { data?: any }) => r.data?.invokeModelStream).filter(Boolean);
    expect(chunks.map((c: { delta: string }) => c.delta).join("")).toBe(completion("invokeModelStream"));
    calls.push({ door: "invokeModelStream", requestId: chunks[0].id });
  } finally {
    await ws.dispose();
  }

  mock.enqueue({ kind: "ok", content: completion("chat/completions") });
  const wire = await postChat(t, { model: `@${key.slug}/gpt-4o`, messages: [{ role: "user", content: prompt("chat/completions") }] });
  const body = await wire.response.json();
  expect(wire.status, JSON.stringify(body)).toBe(200);
  expect(body.choices[0].message.content).toBe(completion("chat/completions"));
  calls.push({ door: "chat/completions", requestId: wire.requestId });

  mock.enqueue({ kind: "ok", content: completion("chat/completions stream") });
  const stream = await streamed(t, { model: `@${key.slug}/gpt-4o`, messages: [{ role: "user", content: [{ type: "text", text: prompt("chat/completions stream") }] }] });
  expect(stream.done, JSON.stringify(stream.error)).toBe(true);
  expect(stream.events.flatMap((e: any) => e.choices.map((c: any) => c.delta.content ?? "")).join("")).toBe(completion("chat/completions stream"));
  calls.push({ door: "chat/completions stream", requestId: stream.requestId });
  return calls;
}
