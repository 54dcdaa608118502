// Where OpenAI's chat API lives and how it is authenticated.
import { baseOf } from "../adapter.js";
import type { ProviderEndpoint } from "../types.js";

export const OPENAI_BASE_URL = "https://api.openai.com";

export function openAiChatUrl(endpoint: ProviderEndpoint): string {
  return `${baseOf(endpoint, OPENAI_BASE_URL)}/v1/chat/completions`;
}

export function openAiHeaders(endpoint: ProviderEndpoint, secret: string): Record<string, string> {
  const options = endpoint.providerOptions ?? {};
  return {
    authorization: `Bearer ${secret}`,
    ...(typeof options.organization === "string" && { "openai-organization": options.organization }),
    ...(typeof options.project === "string" && { "openai-project": options.project }),
  };
}
