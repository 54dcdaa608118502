// A model provider on loopback that speaks the OpenAI chat completions and embeddings (also
// Azure's deployment paths), Anthropic messages and Gemini generateContent, streamGenerateContent
// and embedding wire formats, whole or streamed as each provider streams. Tests tell it to
// answer, fail with a status, rate-limit, stall, or cut or stall a stream; it records every
// request with the credential it carried, to prove which secret reached which host, and whether
// the client went away before the answer was over. Its error bodies echo the credential, as some
// real providers do, so that every failure test is also a leak test.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface MockToolCall {
  name: string;
  /** The arguments as a JSON string, as OpenAI carries them. */
  arguments: string;
}

/** How a successful answer looks; a stream carries the same answer in pieces. */
export interface AnswerOptions {
  content?: string;
  /** Answered as OpenAI tool_calls, Anthropic tool_use blocks or Gemini functionCall parts. */
  toolCalls?: MockToolCall[];
  /** In the provider's own vocabulary: "length" (OpenAI), "max_tokens" (Anthropic), "MAX_TOKENS" or "SAFETY" (Gemini). */
  finishReason?: string;
  promptTokens?: number;
  completionTokens?: number;
  model?: string;
  /** A pause before each streamed event after the first. */
  chunkDelayMs?: number;
}

export type Behaviour =
  | ({ kind: "ok" } & AnswerOptions)
  | { kind: "fail"; status: number; headers?: Record<string, string> }
  /** A 429 with retry-after (default "1"; null sends none). */
  | { kind: "rateLimit"; retryAfter?: string | null }
  /** Never answers (until the client leaves or the mock closes): for timeouts. */
  | { kind: "stall" }
  /** Sends the first `afterChunks` events of the stream (half of a whole answer), then destroys the socket. */
  | ({ kind: "cut"; afterChunks: number } & AnswerOptions)
  /** Sends the first `afterChunks` events of the stream (half of a whole answer), then waits until the client leaves or the mock closes. */
  | ({ kind: "stallStream"; afterChunks: number } & AnswerOptions);

export type WireFormat = "openai" | "anthropic" | "google" | "unknown";
export type Operation = "chat" | "embeddings" | "unknown";

export interface RecordedRequest {
  format: WireFormat;
  operation: Operation;
  /** Asked for a stream: body.stream (OpenAI, Anthropic) or :streamGenerateContent (Gemini). */
  stream: boolean;
  path: string;
  query: string;
  /** The credential as sent: Authorization for OpenAI, x-api-key for Anthropic, api-key for Azure, x-goog-api-key for Gemini. */
  authorization: string | null;
  xApiKey: string | null;
  azureApiKey: string | null;
  googApiKey: string | null;
  anthropicVersion: string | null;
  body: any;
  /** Set when the client closed the connection before the answer was over. */
  aborted: boolean;
  /** Events of a streamed answer written so far. */
  chunksSent: number;
}

export interface MockProvider {
  /** http://127.0.0.1:<port>, for a virtual key's baseUrl. */
  url: string;
  requests: RecordedRequest[];
  /** Behaviours for the next requests, in order; after them, the default. */
  enqueue(...behaviours: Behaviour[]): void;
  setDefault(behaviour: Behaviour): void;
  /** Forgets requests and queued behaviours; the default becomes "ok" again. */
  reset(): void;
  /** Resolves once the mock has received n requests in all (since the last reset). */
  waitForRequests(n: number): Promise<RecordedRequest[]>;
  /** Resolves once the answer to the index-th request is over: sent whole, cut, or left by the client (then `aborted`). */
  waitForClose(index: number): Promise<RecordedRequest>;
  close(): Promise<void>;
}

export const MOCK_PROMPT_TOKENS = 12;
export const MOCK_COMPLETION_TOKENS = 5;
export const MOCK_EMBEDDING_DIMENSIONS = 4;

function formatOf(path: string): WireFormat {
  if (path.endsWith("/chat/completions") || path.endsWith("/embeddings")) return "openai";
  if (path.endsWith("/v1/messages")) return "anthropic";
  if (path.endsWith(":generateContent") || path.endsWith(":streamGenerateContent") || path.endsWith(":batchEmbedContents") || path.endsWith(":embedContent")) return "google";
  return "unknown";
}

function operationOf(path: string): Operation {
  if (path.endsWith("/embeddings") || path.endsWith(":batchEmbedContents") || path.endsWith(":embedContent")) return "embeddings";
  return formatOf(path) === "unknown" ? "unknown" : "chat";
}

function header(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return typeof value === "string" ? value : null;
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((p) => (typeof p?.text === "string" ? p.text : "")).join("");
  return "";
}

function lastUserText(format: WireFormat, body: any): string {
  if (format === "google") return textOf(body?.contents?.at(-1)?.parts);
  return textOf(body?.messages?.at(-1)?.content);
}

/** The answer a behaviour stands for, in every provider's terms. */
interface Answer {
  content: string | null;
  toolCalls: MockToolCall[];
  finishReason: string | undefined;
  prompt: number;
  completion: number;
  model: string;
  delayMs: number;
}

function answerOf(format: WireFormat, body: any, b: AnswerOptions): Answer {
  const toolCalls = b.toolCalls ?? [];
  return {
    content: b.content ?? (toolCalls.length > 0 ? null : `mock reply to: ${lastUserText(format, body)}`),
    toolCalls,
    finishReason: b.finishReason,
    prompt: b.promptTokens ?? MOCK_PROMPT_TOKENS,
    completion: b.completionTokens ?? MOCK_COMPLETION_TOKENS,
    model: format === "google" ? (b.model ?? "gemini-mock") : (b.model ?? body?.model ?? "gemini-mock"),
    delayMs: b.chunkDelayMs ?? 0,
  };
}

function argsOf(call: MockToolCall): unknown {
  try {
    return JSON.parse(call.arguments);
  } catch {
    return {};
  }
}

function success(format: WireFormat, a: Answer): unknown {
  if (format === "anthropic") {
    const content: unknown[] = [];
    if (a.content !== null) content.push({ type: "text", text: a.content });
    a.toolCalls.forEach((c, i) => content.push({ type: "tool_use", id: `toolu_mock_${i}`, name: c.name, input: argsOf(c) }));
    const stop = a.finishReason ?? (a.toolCalls.length > 0 ? "tool_use" : "end_turn");
    return { id: "msg_mock", type: "message", role: "assistant", model: a.model, content, stop_reason: stop, usage: { input_tokens: a.prompt, output_tokens: a.completion } };
  }
  if (format === "google") {
    return {
      candidates: [{ content: { role: "model", parts: geminiParts(a.content, a.toolCalls) }, finishReason: a.finishReason ?? "STOP" }],
      usageMetadata: { promptTokenCount: a.prompt, candidatesTokenCount: a.completion, totalTokenCount: a.prompt + a.completion },
      modelVersion: a.model,
    };
  }
  const message: Record<string, unknown> = { role: "assistant", content: a.content };
  if (a.toolCalls.length > 0) message.tool_calls = a.toolCalls.map((c, i) => ({ id: `call_mock_${i}`, type: "function", function: { name: c.name, arguments: c.arguments } }));
  return {
    id: "chatcmpl-mock",
    object: "chat.completion",
    model: a.model,
    choices: [{ index: 0, message, finish_reason: a.finishReason ?? (a.toolCalls.length > 0 ? "tool_calls" : "stop") }],
    usage: { prompt_tokens: a.prompt, completion_tokens: a.completion, total_tokens: a.prompt + a.completion },
  };
}

function geminiParts(content: string | null, toolCalls: MockToolCall[]): unknown[] {
  const parts: unknown[] = content !== null ? [{ text: content }] : [];
  for (const c of toolCalls) parts.push({ functionCall: { name: c.name, args: argsOf(c) } });
  return parts;
}

/** Words with their trailing space: "mock reply to: hi" streams as four pieces. */
function piecesOf(content: string | null): string[] {
  return content === null ? [] : (content.match(/\S+\s*|\s+/g) ?? []);
}

/** A JSON string in two halves, as providers split tool arguments across events. */
function halves(text: string): string[] {
  if (text.length < 2) return [text];
  const mid = Math.ceil(text.length / 2);
  return [text.slice(0, mid), text.slice(mid)];
}

const sse = (data: unknown, event?: string): string => `${event ? `event: ${event}\n` : ""}data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;

/** OpenAI's chat.completion.chunk events, a usage chunk when asked, then [DONE]. */
function openAiEvents(body: any, a: Answer): string[] {
  const withUsage = body?.stream_options?.include_usage === true;
  const base = { id: "chatcmpl-mock", object: "chat.completion.chunk", created: 1_700_000_000, model: a.model, system_fingerprint: "fp_mock" };
  const chunk = (delta: unknown, finish: string | null = null) => sse({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...(withUsage && { usage: null }) });
  const events = [chunk({ role: "assistant", content: a.content === null ? null : "", refusal: null })];
  for (const piece of piecesOf(a.content)) events.push(chunk({ content: piece }));
  a.toolCalls.forEach((c, index) => {
    events.push(chunk({ tool_calls: [{ index, id: `call_mock_${index}`, type: "function", function: { name: c.name, arguments: "" } }] }));
    for (const part of halves(c.arguments)) events.push(chunk({ tool_calls: [{ index, function: { arguments: part } }] }));
  });
  events.push(chunk({}, a.finishReason ?? (a.toolCalls.length > 0 ? "tool_calls" : "stop")));
  if (withUsage) events.push(sse({ ...base, choices: [], usage: { prompt_tokens: a.prompt, completion_tokens: a.completion, total_tokens: a.prompt + a.completion } }));
  events.push(sse("[DONE]"));
  return events;
}

/** Anthropic's Messages stream, event by event as its streaming documentation shows it. */
function anthropicEvents(a: Answer): string[] {
  const ev = (data: { type: string } & Record<string, unknown>) => sse(data, data.type);
  const events = [
    ev({
      type: "message_start",
      message: { id: "msg_mock", type: "message", role: "assistant", content: [], model: a.model, stop_reason: null, stop_sequence: null, usage: { input_tokens: a.prompt, output_tokens: 1 } },
    }),
    ev({ type: "ping" }),
  ];
  let index = 0;
  if (a.content !== null) {
    events.push(ev({ type: "content_block_start", index, content_block: { type: "text", text: "" } }));
    for (const text of piecesOf(a.content)) events.push(ev({ type: "content_block_delta", index, delta: { type: "text_delta", text } }));
    events.push(ev({ type: "content_block_stop", index }));
    index++;
  }
  a.toolCalls.forEach((c, i) => {
    events.push(ev({ type: "content_block_start", index, content_block: { type: "tool_use", id: `toolu_mock_${i}`, name: c.name, input: {} } }));
    for (const partial_json of halves(c.arguments)) events.push(ev({ type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json } }));
    events.push(ev({ type: "content_block_stop", index }));
    index++;
  });
  const stop = a.finishReason ?? (a.toolCalls.length > 0 ? "tool_use" : "end_turn");
  events.push(ev({ type: "message_delta", delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: a.completion } }));
  events.push(ev({ type: "message_stop" }));
  return events;
}

/** Gemini's GenerateContentResponses, one per piece; the last carries finishReason and the whole usage. */
function geminiResponses(a: Answer): unknown[] {
  const pieces = piecesOf(a.content).map((text) => [{ text }] as unknown[]);
  const calls = geminiParts(null, a.toolCalls);
  if (calls.length > 0) pieces.push(calls);
  if (pieces.length === 0) pieces.push([{ text: "" }]);
  return pieces.map((parts, i) => {
    const last = i === pieces.length - 1;
    return {
      candidates: [{ content: { role: "model", parts }, index: 0, ...(last && { finishReason: a.finishReason ?? "STOP" }) }],
      // Gemini repeats usageMetadata on every response; only the last one has the candidates' count.
      usageMetadata: last ? { promptTokenCount: a.prompt, candidatesTokenCount: a.completion, totalTokenCount: a.prompt + a.completion } : { promptTokenCount: a.prompt, totalTokenCount: a.prompt },
      modelVersion: a.model,
      responseId: "mock-response",
    };
  });
}

/** A deterministic small vector for a text; every value is exact in float32, so base64 round-trips. */
export function mockEmbedding(text: string, dimensions = MOCK_EMBEDDING_DIMENSIONS): number[] {
  let x = 2166136261;
  for (let i = 0; i < text.length; i++) x = Math.imul(x ^ text.charCodeAt(i), 16777619);
  const values: number[] = [];
  for (let j = 0; j < dimensions; j++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    values.push(((x >>> 16) & 255) / 256);
  }
  return values;
}

function embeddingsAnswer(format: WireFormat, path: string, body: any, b: AnswerOptions): unknown {
  if (format === "google") {
    if (path.endsWith(":embedContent")) return { embedding: { values: mockEmbedding(textOf(body?.content?.parts), body?.outputDimensionality) } };
    const requests: any[] = Array.isArray(body?.requests) ? body.requests : [];
    return { embeddings: requests.map((r) => ({ values: mockEmbedding(textOf(r?.content?.parts), r?.outputDimensionality) })) };
  }
  const inputs: unknown[] = Array.isArray(body?.input) ? body.input : [body?.input];
  const dimensions = typeof body?.dimensions === "number" ? body.dimensions : MOCK_EMBEDDING_DIMENSIONS;
  const prompt = b.promptTokens ?? MOCK_PROMPT_TOKENS;
  return {
    object: "list",
    data: inputs.map((input, index) => {
      const values = mockEmbedding(typeof input === "string" ? input : JSON.stringify(input), dimensions);
      const embedding = body?.encoding_format === "base64" ? Buffer.from(new Float32Array(values).buffer).toString("base64") : values;
      return { object: "embedding", index, embedding };
    }),
    model: b.model ?? body?.model ?? "embedding-mock",
    usage: { prompt_tokens: prompt, total_tokens: prompt },
  };
}

function errorBody(format: WireFormat, status: number, credential: string): unknown {
  const message = `Incorrect API key provided: ${credential} (status ${status})`;
  if (format === "anthropic") return { type: "error", error: { type: status === 429 ? "rate_limit_error" : "api_error", message } };
  return { error: { message, type: "invalid_request_error", code: status } };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startMockProvider(): Promise<MockProvider> {
  const requests: RecordedRequest[] = [];
  const closings: Promise<void>[] = [];
  const queue: Behaviour[] = [];
  let fallback: Behaviour = { kind: "ok" };
  const open = new Set<ServerResponse>();
  let waiters: { n: number; resolve: () => void }[] = [];

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const [path, query = ""] = (req.url ?? "/").split("?");
      const format = formatOf(path);
      const operation = operationOf(path);
      let body: any = null;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        body = null;
      }
      const recorded: RecordedRequest = {
        format,
        operation,
        stream: path.endsWith(":streamGenerateContent") || (format !== "google" && operation === "chat" && body?.stream === true),
        path,
        query,
        authorization: header(req, "authorization"),
        xApiKey: header(req, "x-api-key"),
        azureApiKey: header(req, "api-key"),
        googApiKey: header(req, "x-goog-api-key"),
        anthropicVersion: header(req, "anthropic-version"),
        body,
        aborted: false,
        chunksSent: 0,
      };
      let cutByMock = false;
      open.add(res);
      closings.push(
        new Promise((resolve) =>
          res.on("close", () => {
            open.delete(res);
            if (!res.writableFinished && !cutByMock) recorded.aborted = true;
            resolve();
          }),
        ),
      );
      requests.push(recorded);
      waiters = waiters.filter((w) => (requests.length >= w.n ? (w.resolve(), false) : true));
      const behaviour = queue.shift() ?? fallback;
      const credential = recorded.authorization ?? recorded.xApiKey ?? recorded.azureApiKey ?? recorded.googApiKey ?? "";
      const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { "content-type": "application/json", ...headers });
        res.end(typeof payload === "string" ? payload : JSON.stringify(payload));
      };
      const cut = () => {
        cutByMock = true;
        res.socket?.destroy();
      };
      if (format === "unknown" || req.method !== "POST") return send(404, errorBody(format, 404, credential));
      switch (behaviour.kind) {
        case "fail":
          return send(behaviour.status, errorBody(format, behaviour.status, credential), behaviour.headers);
        case "rateLimit": {
          const retryAfter = behaviour.retryAfter === undefined ? "1" : behaviour.retryAfter;
          return send(429, errorBody(format, 429, credential), retryAfter === null ? {} : { "retry-after": retryAfter });
        }
        case "stall":
          return;
      }
      if (operation === "embeddings") {
        const payload = JSON.stringify(embeddingsAnswer(format, path, body, behaviour));
        if (behaviour.kind === "ok") return send(200, payload);
        return halfAnswer(res, payload, behaviour.kind === "cut" ? cut : undefined);
      }
      const answer = answerOf(format, body, behaviour);
      if (!recorded.stream) {
        const payload = JSON.stringify(success(format, answer));
        if (behaviour.kind === "ok") return send(200, payload);
        return halfAnswer(res, payload, behaviour.kind === "cut" ? cut : undefined);
      }
      void stream(res, recorded, format, query, body, answer, behaviour, cut);
    });
  });

  /** Writes the first half of a whole JSON answer, then cuts or waits. */
  function halfAnswer(res: ServerResponse, payload: string, cut: (() => void) | undefined): void {
    res.writeHead(200, { "content-type": "application/json" });
    res.write(payload.slice(0, Math.floor(payload.length / 2)), () => cut?.());
  }

  async function stream(res: ServerResponse, recorded: RecordedRequest, format: WireFormat, query: string, body: any, answer: Answer, b: Behaviour, cut: () => void): Promise<void> {
    let events: string[];
    let contentType = "text/event-stream; charset=utf-8";
    if (format === "anthropic") events = anthropicEvents(answer);
    else if (format === "openai") events = openAiEvents(body, answer);
    else if (new URLSearchParams(query).get("alt") === "sse") events = geminiResponses(answer).map((r) => sse(r));
    else {
      // Without alt=sse Gemini streams one JSON array, element by element.
      const responses = geminiResponses(answer).map((r) => JSON.stringify(r));
      events = responses.map((r, i) => `${i === 0 ? "[" : ","}${r}${i === responses.length - 1 ? "]" : ""}`);
      contentType = "application/json; charset=utf-8";
    }
    const limit = b.kind === "cut" || b.kind === "stallStream" ? Math.min(b.afterChunks, events.length) : events.length;
    res.writeHead(200, { "content-type": contentType, "cache-control": "no-cache" });
    res.flushHeaders();
    for (let i = 0; i < limit; i++) {
      if (i > 0 && answer.delayMs > 0) await sleep(answer.delayMs);
      if (res.destroyed) return;
      await new Promise<void>((resolve) => res.write(events[i], () => resolve()));
      recorded.chunksSent++;
    }
    if (res.destroyed) return;
    if (b.kind === "cut") return cut();
    if (b.kind === "stallStream") return;
    res.end();
  }

  function waitForRequests(n: number): Promise<RecordedRequest[]> {
    return new Promise((resolve) => {
      if (requests.length >= n) return resolve(requests);
      waiters.push({ n, resolve: () => resolve(requests) });
    });
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    enqueue: (...behaviours) => void queue.push(...behaviours),
    setDefault: (behaviour) => void (fallback = behaviour),
    reset() {
      requests.length = 0;
      closings.length = 0;
      queue.length = 0;
      fallback = { kind: "ok" };
    },
    waitForRequests,
    async waitForClose(index) {
      await waitForRequests(index + 1);
      await closings[index];
      return requests[index];
    },
    close: () =>
      new Promise((resolve) => {
        for (const res of open) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
