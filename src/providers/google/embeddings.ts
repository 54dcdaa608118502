// Gemini's batchEmbedContents, read into OpenAI's embeddings shape: one request per input.
import type { WireRequest } from "../adapter.js";
import { isRecord } from "../adapter.js";
import { ProviderFailure } from "../errors.js";
import type { EmbeddingsRequest, EmbeddingsResult, ProviderEndpoint } from "../types.js";
import { googleHeaders, googleModelId, googleModelUrl } from "./api.js";

export function googleEmbeddingsRequest(endpoint: ProviderEndpoint, secret: string, request: EmbeddingsRequest): WireRequest {
  const model = `models/${googleModelId(request.model)}`;
  const requests = inputsOf(request).map((text) => ({
    model,
    content: { parts: [{ text }] },
    ...(request.dimensions != null && { outputDimensionality: request.dimensions }),
  }));
  return { url: googleModelUrl(endpoint, request.model, "batchEmbedContents"), headers: googleHeaders(secret), body: { requests } };
}

export function readGoogleEmbeddings(body: unknown, request: EmbeddingsRequest): EmbeddingsResult {
  const inputs = inputsOf(request);
  if (!isRecord(body) || !Array.isArray(body.embeddings) || body.embeddings.length !== inputs.length) throw new ProviderFailure("invalid_response");
  const data = body.embeddings.map((e: unknown, index) => {
    if (!isRecord(e) || !Array.isArray(e.values) || !e.values.every((v) => typeof v === "number")) throw new ProviderFailure("invalid_response");
    const values = e.values as number[];
    // As OpenAI does: the little-endian float32 bytes, base64-encoded.
    return { index, embedding: request.encoding_format === "base64" ? Buffer.from(new Float32Array(values).buffer).toString("base64") : values };
  });
  // batchEmbedContents reports no token counts: estimated at four characters a token, the usual
  // rule of thumb, so usage and budgets are never zero for real work.
  const promptTokens = Math.ceil(inputs.reduce((sum, text) => sum + text.length, 0) / 4);
  return { model: request.model, data, usage: { promptTokens, totalTokens: promptTokens } };
}

function inputsOf(request: EmbeddingsRequest): string[] {
  return typeof request.input === "string" ? [request.input] : request.input;
}
