// Google's Gemini API (generativelanguage) as a provider adapter.
import type { ProviderAdapter } from "../adapter.js";
import { googleHeaders, googleModelUrl } from "./api.js";
import { readGeminiContent, toGeminiContent } from "./chat.js";
import { googleEmbeddingsRequest, readGoogleEmbeddings } from "./embeddings.js";
import { GeminiStreamDecoder } from "./stream.js";

export const google: ProviderAdapter = {
  chatRequest: (endpoint, secret, request, stream) => ({
    url: googleModelUrl(endpoint, request.model, stream ? "streamGenerateContent" : "generateContent"),
    // alt=sse: server-sent events, as the other providers stream; without it Gemini streams one JSON array.
    ...(stream && { query: { alt: "sse" } }),
    headers: googleHeaders(secret),
    body: toGeminiContent(request),
  }),
  readChat: readGeminiContent,
  streamDecoder: () => new GeminiStreamDecoder(),
  embeddings: { request: googleEmbeddingsRequest, read: readGoogleEmbeddings },
};
