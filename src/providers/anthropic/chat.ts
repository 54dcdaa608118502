// The Anthropic Messages wire format: system text travels apart from the turns, and
// max_tokens is required.
import { count, isRecord } from "../adapter.js";
import { ProviderFailure } from "../errors.js";
import type { ChatRequest, ChatResult } from "../types.js";

export const ANTHROPIC_DEFAULT_MAX_TOKENS = 1024;

export function toAnthropicMessages(request: ChatRequest): Record<string, unknown> {
  const system = request.messages.filter((m) => m.role === "SYSTEM").map((m) => m.content);
  return {
    model: request.model,
    max_tokens: request.maxTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
    ...(system.length > 0 && { system: system.join("\n\n") }),
    // Anthropic knows two roles; a tool's output is something the user side tells the model.
    messages: request.messages.filter((m) => m.role !== "SYSTEM").map((m) => ({ role: m.role === "ASSISTANT" ? "assistant" : "user", content: m.content })),
    ...(request.temperature != null && { temperature: request.temperature }),
    ...(request.topP != null && { top_p: request.topP }),
    ...(request.stop != null && request.stop.length > 0 && { stop_sequences: request.stop }),
  };
}

export function fromAnthropicMessages(body: unknown, request: ChatRequest): ChatResult {
  if (!isRecord(body) || !Array.isArray(body.content)) throw new ProviderFailure("invalid_response");
  const texts = body.content.filter((b): b is Record<string, unknown> => isRecord(b) && b.type === "text" && typeof b.text === "string").map((b) => b.text as string);
  const usage = isRecord(body.usage) ? body.usage : {};
  const promptTokens = count(usage.input_tokens);
  const completionTokens = count(usage.output_tokens);
  return {
    model: typeof body.model === "string" ? body.model : request.model,
    content: texts.length > 0 ? texts.join("") : null,
    finishReason: typeof body.stop_reason === "string" ? body.stop_reason : null,
    usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens },
  };
}
