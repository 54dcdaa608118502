// OpenAI's embeddings API, shared by Azure and OpenAI-compatible servers.
import { count, isRecord } from "../adapter.js";
import { ProviderFailure } from "../errors.js";
import type { EmbeddingsRequest, EmbeddingsResult } from "../types.js";

export function openAiEmbeddingsBody(request: EmbeddingsRequest): Record<string, unknown> {
  const body: Record<string, unknown> = { model: request.model, input: request.input };
  if (request.dimensions !== undefined) body.dimensions = request.dimensions;
  if (request.encoding_format !== undefined) body.encoding_format = request.encoding_format;
  if (request.user !== undefined) body.user = request.user;
  return body;
}

export function readOpenAiEmbeddings(body: unknown, request: EmbeddingsRequest): EmbeddingsResult {
  if (!isRecord(body) || !Array.isArray(body.data)) throw new ProviderFailure("invalid_response");
  const data: EmbeddingsResult["data"] = new Array(body.data.length);
  for (let i = 0; i < body.data.length; i++) {
    const item: unknown = body.data[i];
    if (!isRecord(item) || !(Array.isArray(item.embedding) || typeof item.embedding === "string")) throw new ProviderFailure("invalid_response");
    data[i] = { index: typeof item.index === "number" ? item.index : i, embedding: item.embedding as number[] | string };
  }
  const usage = isRecord(body.usage) ? body.usage : {};
  const promptTokens = count(usage.prompt_tokens);
  return {
    model: typeof body.model === "string" && body.model !== "" ? body.model : request.model,
    data,
    usage: { promptTokens, totalTokens: count(usage.total_tokens) || promptTokens },
  };
}
