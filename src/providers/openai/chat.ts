// The OpenAI chat completions wire format, shared by every OpenAI-compatible provider.
import { count, isRecord } from "../adapter.js";
import { ProviderFailure } from "../errors.js";
import type { ChatRequest, ChatResult } from "../types.js";

export function toOpenAiChat(request: ChatRequest): Record<string, unknown> {
  return {
    model: request.model,
    messages: request.messages.map((m) => ({ role: m.role.toLowerCase(), content: m.content })),
    ...(request.temperature != null && { temperature: request.temperature }),
    ...(request.maxTokens != null && { max_tokens: request.maxTokens }),
    ...(request.topP != null && { top_p: request.topP }),
    ...(request.stop != null && request.stop.length > 0 && { stop: request.stop }),
  };
}

export function fromOpenAiChat(body: unknown, request: ChatRequest): ChatResult {
  if (!isRecord(body) || !Array.isArray(body.choices) || !isRecord(body.choices[0])) throw new ProviderFailure("invalid_response");
  const choice = body.choices[0];
  const message = isRecord(choice.message) ? choice.message : {};
  const usage = isRecord(body.usage) ? body.usage : {};
  const promptTokens = count(usage.prompt_tokens);
  const completionTokens = count(usage.completion_tokens);
  return {
    model: typeof body.model === "string" ? body.model : request.model,
    content: typeof message.content === "string" ? message.content : null,
    finishReason: typeof choice.finish_reason === "string" ? choice.finish_reason : null,
    usage: { promptTokens, completionTokens, totalTokens: count(usage.total_tokens) || promptTokens + completionTokens },
  };
}
