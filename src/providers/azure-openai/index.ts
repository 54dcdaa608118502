// Azure speaks OpenAI's chat format; only the address and the credential header differ.
import type { ProviderAdapter } from "../adapter.js";
import { fromOpenAiChat, toOpenAiChat } from "../openai/chat.js";
import { azureChatUrl, azureHeaders } from "./api.js";

export const azureOpenAi: ProviderAdapter = {
  toWire: (endpoint, secret, request) => ({ ...azureChatUrl(endpoint), headers: azureHeaders(secret), body: toOpenAiChat(request) }),
  fromWire: fromOpenAiChat,
};
