import type { ProviderAdapter } from "../adapter.js";
import { anthropicHeaders, anthropicMessagesUrl } from "./api.js";
import { fromAnthropicMessages, toAnthropicMessages } from "./chat.js";

export const anthropic: ProviderAdapter = {
  toWire: (endpoint, secret, request) => ({ url: anthropicMessagesUrl(endpoint), headers: anthropicHeaders(secret), body: toAnthropicMessages(request) }),
  fromWire: fromAnthropicMessages,
};
