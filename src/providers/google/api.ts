// Where Google's Gemini API lives and how it is authenticated (a header, never the query string).
import { baseOf } from "../adapter.js";
import type { ProviderEndpoint } from "../types.js";

export const GOOGLE_BASE_URL = "https://generativelanguage.googleapis.com";

export type GoogleMethod = "generateContent" | "streamGenerateContent" | "batchEmbedContents";

/** The model's resource name without Google's "models/" prefix, which callers sometimes include. */
export function googleModelId(model: string): string {
  return model.replace(/^models\//, "");
}

export function googleModelUrl(endpoint: ProviderEndpoint, model: string, method: GoogleMethod): string {
  return `${baseOf(endpoint, GOOGLE_BASE_URL)}/v1beta/models/${encodeURIComponent(googleModelId(model))}:${method}`;
}

export function googleHeaders(secret: string): Record<string, string> {
  return { "x-goog-api-key": secret };
}
