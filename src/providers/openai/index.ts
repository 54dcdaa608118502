import type { ProviderAdapter } from "../adapter.js";
import { openAiChatUrl, openAiHeaders } from "./api.js";
import { fromOpenAiChat, toOpenAiChat } from "./chat.js";

export const openAi: ProviderAdapter = {
  toWire: (endpoint, secret, request) => ({ url: openAiChatUrl(endpoint), headers: openAiHeaders(endpoint, secret), body: toOpenAiChat(request) }),
  fromWire: fromOpenAiChat,
};
