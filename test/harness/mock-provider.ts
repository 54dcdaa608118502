// A model provider on loopback that speaks the OpenAI chat completions (also Azure's
// deployment path), Anthropic messages and Gemini generateContent wire formats. Tests tell it
// to answer, fail with a status, rate-limit or stall; it records every request with the
// credential it carried, to prove which secret reached which host. Its error bodies echo the
// credential, as some real providers do, so that every failure test is also a leak test.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Behaviour =
  | { kind: "ok"; content?: string; promptTokens?: number; completionTokens?: number; model?: string }
  | { kind: "fail"; status: number }
  | { kind: "rateLimit" }
  /** Never answers (until the mock closes): for timeouts. */
  | { kind: "stall" };

export type WireFormat = "openai" | "anthropic" | "google" | "unknown";

export interface RecordedRequest {
  format: WireFormat;
  path: string;
  query: string;
  /** The credential as sent: Authorization for OpenAI, x-api-key for Anthropic, api-key for Azure, x-goog-api-key for Gemini. */
  authorization: string | null;
  xApiKey: string | null;
  azureApiKey: string | null;
  googApiKey: string | null;
  anthropicVersion: string | null;
  body: any;
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
  close(): Promise<void>;
}

export const MOCK_PROMPT_TOKENS = 12;
export const MOCK_COMPLETION_TOKENS = 5;

function formatOf(path: string): WireFormat {
  if (path.endsWith("/chat/completions")) return "openai";
  if (path.endsWith("/v1/messages")) return "anthropic";
  if (path.endsWith(":generateContent")) return "google";
  return "unknown";
}

function header(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return typeof value === "string" ? value : null;
}

function lastUserText(format: WireFormat, body: any): string {
  if (format === "google") return body?.contents?.at(-1)?.parts?.[0]?.text ?? "";
  return body?.messages?.at(-1)?.content ?? "";
}

function success(format: WireFormat, body: any, b: Extract<Behaviour, { kind: "ok" }>): unknown {
  const content = b.content ?? `mock reply to: ${lastUserText(format, body)}`;
  const prompt = b.promptTokens ?? MOCK_PROMPT_TOKENS;
  const completion = b.completionTokens ?? MOCK_COMPLETION_TOKENS;
  const model = b.model ?? body?.model ?? "gemini-mock";
  if (format === "anthropic") {
    return { id: "msg_mock", type: "message", role: "assistant", model, content: [{ type: "text", text: content }], stop_reason: "end_turn", usage: { input_tokens: prompt, output_tokens: completion } };
  }
  if (format === "google") {
    return {
      candidates: [{ content: { role: "model", parts: [{ text: content }] }, finishReason: "STOP" }],
      usageMetadata: { promptTokenCount: prompt, candidatesTokenCount: completion, totalTokenCount: prompt + completion },
      modelVersion: b.model ?? "gemini-mock",
    };
  }
  return {
    id: "chatcmpl-mock",
    object: "chat.completion",
    model,
    choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
    usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
  };
}

function errorBody(format: WireFormat, status: number, credential: string): unknown {
  const message = `Incorrect API key provided: ${credential} (status ${status})`;
  if (format === "anthropic") return { type: "error", error: { type: status === 429 ? "rate_limit_error" : "api_error", message } };
  return { error: { message, type: "invalid_request_error", code: status } };
}

export async function startMockProvider(): Promise<MockProvider> {
  const requests: RecordedRequest[] = [];
  const queue: Behaviour[] = [];
  let fallback: Behaviour = { kind: "ok" };
  const stalled = new Set<ServerResponse>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const [path, query = ""] = (req.url ?? "/").split("?");
      const format = formatOf(path);
      let body: any = null;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        body = null;
      }
      const recorded: RecordedRequest = {
        format,
        path,
        query,
        authorization: header(req, "authorization"),
        xApiKey: header(req, "x-api-key"),
        azureApiKey: header(req, "api-key"),
        googApiKey: header(req, "x-goog-api-key"),
        anthropicVersion: header(req, "anthropic-version"),
        body,
      };
      requests.push(recorded);
      const behaviour = queue.shift() ?? fallback;
      const credential = recorded.authorization ?? recorded.xApiKey ?? recorded.azureApiKey ?? recorded.googApiKey ?? "";
      const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { "content-type": "application/json", ...headers });
        res.end(JSON.stringify(payload));
      };
      if (format === "unknown" || req.method !== "POST") return send(404, errorBody(format, 404, credential));
      switch (behaviour.kind) {
        case "ok":
          return send(200, success(format, body, behaviour));
        case "fail":
          return send(behaviour.status, errorBody(format, behaviour.status, credential));
        case "rateLimit":
          return send(429, errorBody(format, 429, credential), { "retry-after": "1" });
        case "stall":
          stalled.add(res);
          res.on("close", () => stalled.delete(res));
          return;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    enqueue: (...behaviours) => void queue.push(...behaviours),
    setDefault: (behaviour) => void (fallback = behaviour),
    reset() {
      requests.length = 0;
      queue.length = 0;
      fallback = { kind: "ok" };
    },
    close: () =>
      new Promise((resolve) => {
        for (const res of stalled) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
