// Azure speaks OpenAI's chat and embeddings formats; only the address and the credential header differ.
import type { ProviderAdapter } from "../adapter.js";
import { openAiChatBody, readOpenAiChat } from "../openai/chat.js";
import { openAiEmbeddingsBody, readOpenAiEmbeddings } from "../openai/embeddings.js";
import { openAiStreamDecoder } from "../openai/stream.js";
import { azureChatUrl, azureEmbeddingsUrl, azureHeaders } from "./api.js";

export const azureOpenAi: ProviderAdapter = {
  chatRequest: (endpoint, secret, request, stream) => ({ ...azureChatUrl(endpoint), headers: azureHeaders(secret), body: openAiChatBody(request, stream) }),
  readChat: readOpenAiChat,
  streamDecoder: openAiStreamDecoder,
  embeddings: {
    request: (endpoint, secret, request) => ({ ...azureEmbeddingsUrl(endpoint), headers: azureHeaders(secret), body: openAiEmbeddingsBody(request) }),
    read: readOpenAiEmbeddings,
  },
};
