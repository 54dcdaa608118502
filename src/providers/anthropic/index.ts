// Anthropic's Messages API as a provider adapter; it has no embeddings.
import type { ProviderAdapter } from "../adapter.js";
import { anthropicHeaders, anthropicMessagesUrl } from "./api.js";
import { readAnthropicMessage, toAnthropicMessages } from "./chat.js";
import { AnthropicStreamDecoder } from "./stream.js";

export const anthropic: ProviderAdapter = {
  chatRequest: (endpoint, secret, request, stream) => ({ url: anthropicMessagesUrl(endpoint), headers: anthropicHeaders(secret), body: toAnthropicMessages(request, stream) }),
  readChat: readAnthropicMessage,
  streamDecoder: (request) => new AnthropicStreamDecoder(request),
};
