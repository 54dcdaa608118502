// Where Anthropic's Messages API lives and how it is authenticated.
import { baseOf } from "../adapter.js";
import type { ProviderEndpoint } from "../types.js";

export const ANTHROPIC_BASE_URL = "https://api.anthropic.com";
export const ANTHROPIC_VERSION = "2023-06-01";

export function anthropicMessagesUrl(endpoint: ProviderEndpoint): string {
  return `${baseOf(endpoint, ANTHROPIC_BASE_URL)}/v1/messages`;
}

export function anthropicHeaders(secret: string): Record<string, string> {
  return { "x-api-key": secret, "anthropic-version": ANTHROPIC_VERSION };
}
