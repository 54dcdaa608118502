// Where OpenAI's API lives and how it is authenticated; OpenAI-compatible servers share it.
import type { ProviderEndpoint } from "../types.js";

export const OPENAI_BASE_URL = "https://api.openai.com";

/** A path segment that names an API version: v1, v1beta, v4. */
const VERSION_SEGMENT = /\/v\d+[a-z0-9]*(?:\/|$)/i;
/** What people paste when they copy a whole endpoint instead of its base. */
const OPERATION_SUFFIX = /\/(?:chat\/completions|embeddings)$/;
const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i;

/**
 * The versioned root of an OpenAI-style API, from a base URL as people copy it: with its
 * version (https://api.groq.com/openai/v1, https://generativelanguage.googleapis.com/v1beta/openai)
 * or without (http://localhost:11434, https://api.groq.com/openai), where /v1 is meant.
 */
export function openAiApiRoot(baseUrl: string): string {
  const root = baseUrl.replace(/\/+$/, "").replace(OPERATION_SUFFIX, "");
  return VERSION_SEGMENT.test(root.replace(ORIGIN, "")) ? root : `${root}/v1`;
}

function rootOf(endpoint: ProviderEndpoint): string {
  return endpoint.baseUrl === null ? `${OPENAI_BASE_URL}/v1` : openAiApiRoot(endpoint.baseUrl);
}

export function openAiChatUrl(endpoint: ProviderEndpoint): string {
  return `${rootOf(endpoint)}/chat/completions`;
}

export function openAiEmbeddingsUrl(endpoint: ProviderEndpoint): string {
  return `${rootOf(endpoint)}/embeddings`;
}

export function openAiHeaders(endpoint: ProviderEndpoint, secret: string): Record<string, string> {
  const options = endpoint.providerOptions;
  if (options === null) return { authorization: `Bearer ${secret}` };
  return {
    authorization: `Bearer ${secret}`,
    ...(typeof options.organization === "string" && { "openai-organization": options.organization }),
    ...(typeof options.project === "string" && { "openai-project": options.project }),
  };
}
