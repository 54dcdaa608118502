// The OpenAI chat completions wire format, shared by Azure and every OpenAI-compatible server:
// the request goes out as the application sent it, the answer is read into ChatResult.
import { count, isRecord } from "../adapter.js";
import { ProviderFailure } from "../errors.js";
import type { ChatChoice, ChatRequest, ChatResult, FinishReason, ToolCall, Usage } from "../types.js";

/**
 * The request body: the fields the door passed through (`extra`), then every defined field of
 * the request. A stream always asks for usage: Portcullis bills every stream.
 */
export function openAiChatBody(request: ChatRequest, stream: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const extra = request.extra;
  if (extra !== undefined) {
    for (const key in extra) if (key !== "stream" && key !== "stream_options") body[key] = extra[key];
  }
  for (const key in request) {
    if (key === "extra") continue;
    const value = request[key as keyof ChatRequest];
    if (value !== undefined) body[key] = value;
  }
  // The door folds max_completion_tokens into max_tokens; the provider gets what was sent.
  if (request.max_completion_tokens !== undefined && request.max_tokens === request.max_completion_tokens) delete body.max_tokens;
  if (stream) {
    body.stream = true;
    const asked = extra?.stream_options;
    body.stream_options = isRecord(asked) ? { ...asked, include_usage: true } : { include_usage: true };
  }
  return body;
}

export function readOpenAiChat(body: unknown, request: ChatRequest): ChatResult {
  if (!isRecord(body) || !Array.isArray(body.choices)) throw new ProviderFailure("invalid_response");
  const choices: ChatChoice[] = new Array(body.choices.length);
  for (let i = 0; i < body.choices.length; i++) {
    const choice: unknown = body.choices[i];
    if (!isRecord(choice)) throw new ProviderFailure("invalid_response");
    const message = isRecord(choice.message) ? choice.message : {};
    const out: ChatChoice["message"] = { role: "assistant", content: typeof message.content === "string" ? message.content : null };
    if (Array.isArray(message.tool_calls) && message.tool_calls.length > 0) out.tool_calls = toolCalls(message.tool_calls);
    if (typeof message.refusal === "string") out.refusal = message.refusal;
    choices[i] = { index: typeof choice.index === "number" ? choice.index : i, message: out, finish_reason: openAiFinishReason(choice.finish_reason) };
  }
  return { model: typeof body.model === "string" && body.model !== "" ? body.model : request.model, choices, usage: openAiUsage(body.usage) };
}

function toolCalls(raw: unknown[]): ToolCall[] {
  const calls: ToolCall[] = [];
  for (const call of raw) {
    if (!isRecord(call) || !isRecord(call.function) || typeof call.function.name !== "string") throw new ProviderFailure("invalid_response");
    calls.push({
      id: typeof call.id === "string" ? call.id : "",
      type: "function",
      function: { name: call.function.name, arguments: typeof call.function.arguments === "string" ? call.function.arguments : "" },
    });
  }
  return calls;
}

export function openAiUsage(raw: unknown): Usage {
  if (!isRecord(raw)) return { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
  const promptTokens = count(raw.prompt_tokens);
  const completionTokens = count(raw.completion_tokens);
  return { promptTokens, completionTokens, totalTokens: count(raw.total_tokens) || promptTokens + completionTokens };
}

export function openAiFinishReason(raw: unknown): FinishReason | null {
  switch (raw) {
    case "stop":
    case "length":
    case "tool_calls":
    case "content_filter":
      return raw;
    case "function_call":
      return "tool_calls";
    default:
      return null;
  }
}
