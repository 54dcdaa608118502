// Any server that speaks OpenAI's API at its own base URL (required when the key is stored),
// given with or without its /v1.
import type { ProviderAdapter } from "../adapter.js";
import { ProviderFailure } from "../errors.js";
import { openAi } from "../openai/index.js";
import type { ProviderEndpoint } from "../types.js";

const openAiEmbeddings = openAi.embeddings!;

/** Without its own base URL the call would go to OpenAI with another server's key. */
function requireBaseUrl(endpoint: ProviderEndpoint): void {
  if (!endpoint.baseUrl) throw new ProviderFailure("unsupported");
}

export const openAiCompatible: ProviderAdapter = {
  chatRequest(endpoint, secret, request, stream) {
    requireBaseUrl(endpoint);
    return openAi.chatRequest(endpoint, secret, request, stream);
  },
  readChat: openAi.readChat,
  streamDecoder: openAi.streamDecoder,
  embeddings: {
    request(endpoint, secret, request) {
      requireBaseUrl(endpoint);
      return openAiEmbeddings.request(endpoint, secret, request);
    },
    read: openAiEmbeddings.read,
  },
};
