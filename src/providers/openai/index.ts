// OpenAI: the chat completions and embeddings wire formats every OpenAI-family adapter shares.
import type { ProviderAdapter } from "../adapter.js";
import { openAiChatUrl, openAiEmbeddingsUrl, openAiHeaders } from "./api.js";
import { openAiChatBody, readOpenAiChat } from "./chat.js";
import { openAiEmbeddingsBody, readOpenAiEmbeddings } from "./embeddings.js";
import { openAiStreamDecoder } from "./stream.js";

export const openAi: ProviderAdapter = {
  chatRequest: (endpoint, secret, request, stream) => ({ url: openAiChatUrl(endpoint), headers: openAiHeaders(endpoint, secret), body: openAiChatBody(request, stream) }),
  readChat: readOpenAiChat,
  streamDecoder: openAiStreamDecoder,
  embeddings: {
    request: (endpoint, secret, request) => ({ url: openAiEmbeddingsUrl(endpoint), headers: openAiHeaders(endpoint, secret), body: openAiEmbeddingsBody(request) }),
    read: readOpenAiEmbeddings,
  },
};
