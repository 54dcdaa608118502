// The Gemini generateContent wire format: turns are "user" and "model", system text travels apart.
import { count, isRecord } from "../adapter.js";
import { ProviderFailure } from "../errors.js";
import type { ChatRequest, ChatResult } from "../types.js";

export function toGeminiContent(request: ChatRequest): Record<string, unknown> {
  const system = request.messages.filter((m) => m.role === "SYSTEM").map((m) => ({ text: m.content }));
  const generationConfig = {
    ...(request.temperature != null && { temperature: request.temperature }),
    ...(request.maxTokens != null && { maxOutputTokens: request.maxTokens }),
    ...(request.topP != null && { topP: request.topP }),
    ...(request.stop != null && request.stop.length > 0 && { stopSequences: request.stop }),
  };
  return {
    contents: request.messages.filter((m) => m.role !== "SYSTEM").map((m) => ({ role: m.role === "ASSISTANT" ? "model" : "user", parts: [{ text: m.content }] })),
    ...(system.length > 0 && { systemInstruction: { parts: system } }),
    ...(Object.keys(generationConfig).length > 0 && { generationConfig }),
  };
}

export function fromGeminiContent(body: unknown, request: ChatRequest): ChatResult {
  if (!isRecord(body) || !Array.isArray(body.candidates)) throw new ProviderFailure("invalid_response");
  const candidate = isRecord(body.candidates[0]) ? body.candidates[0] : {};
  const parts = isRecord(candidate.content) && Array.isArray(candidate.content.parts) ? candidate.content.parts : [];
  const texts = parts.filter((p): p is Record<string, unknown> => isRecord(p) && typeof p.text === "string").map((p) => p.text as string);
  const usage = isRecord(body.usageMetadata) ? body.usageMetadata : {};
  const promptTokens = count(usage.promptTokenCount);
  const completionTokens = count(usage.candidatesTokenCount);
  return {
    model: typeof body.modelVersion === "string" ? body.modelVersion : request.model,
    content: texts.length > 0 ? texts.join("") : null,
    finishReason: typeof candidate.finishReason === "string" ? candidate.finishReason : null,
    usage: { promptTokens, completionTokens, totalTokens: count(usage.totalTokenCount) || promptTokens + completionTokens },
  };
}
