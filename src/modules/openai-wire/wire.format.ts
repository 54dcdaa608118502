// Portcullis's answers in OpenAI's shapes: chat.completion, chat.completion.chunk, the model
// list and embeddings. Only what the provider answered and we normalised reaches the client.
import type { ChatChunk, ChatResult, EmbeddingsResult, Usage } from "../../providers/types.js";

const usageOf = (u: Usage) => ({ prompt_tokens: u.promptTokens, completion_tokens: u.completionTokens, total_tokens: u.totalTokens });

/** The completion's ID: the request ID, which the audit log and usage records also hold. */
export const completionId = (requestId: string) => `chatcmpl-${requestId}`;

export function chatCompletion(requestId: string, created: number, result: ChatResult): string {
  return JSON.stringify({
    id: completionId(requestId),
    object: "chat.completion",
    created,
    model: result.model,
    choices: result.choices.map((c) => ({
      index: c.index,
      message: { role: "assistant", content: c.message.content, ...(c.message.tool_calls && c.message.tool_calls.length > 0 && { tool_calls: c.message.tool_calls }), refusal: c.message.refusal ?? null },
      logprobs: null,
      finish_reason: c.finish_reason,
    })),
    usage: usageOf(result.usage),
  });
}

/** One SSE event of a chunk's choices (usage travels in its own last chunk, when asked for). */
export function chunkEvent(requestId: string, created: number, model: string, chunk: ChatChunk): string {
  return `data: ${JSON.stringify({
    id: completionId(requestId),
    object: "chat.completion.chunk",
    created,
    model,
    choices: chunk.choices.map((c) => ({ index: c.index, delta: c.delta, logprobs: null, finish_reason: c.finish_reason })),
  })}\n\n`;
}

export function usageEvent(requestId: string, created: number, model: string, usage: Usage): string {
  return `data: ${JSON.stringify({ id: completionId(requestId), object: "chat.completion.chunk", created, model, choices: [], usage: usageOf(usage) })}\n\n`;
}

export const DONE_EVENT = "data: [DONE]\n\n";

export function modelList(entries: { id: string; created: Date; ownedBy: string }[]): string {
  return JSON.stringify({ object: "list", data: entries.map((e) => ({ id: e.id, object: "model", created: Math.floor(e.created.getTime() / 1000), owned_by: e.ownedBy })) });
}

export function embeddingList(result: EmbeddingsResult): string {
  return JSON.stringify({
    object: "list",
    data: result.data.map((d) => ({ object: "embedding", index: d.index, embedding: d.embedding })),
    model: result.model,
    usage: { prompt_tokens: result.usage.promptTokens, total_tokens: result.usage.totalTokens },
  });
}
