// Where Google's Gemini API lives and how it is authenticated (a header, never the query string).
import { baseOf } from "../adapter.js";
import type { ProviderEndpoint } from "../types.js";

export const GOOGLE_BASE_URL = "https://generativelanguage.googleapis.com";

export function googleGenerateUrl(endpoint: ProviderEndpoint, model: string): string {
  return `${baseOf(endpoint, GOOGLE_BASE_URL)}/v1beta/models/${encodeURIComponent(model)}:generateContent`;
}

export function googleHeaders(secret: string): Record<string, string> {
  return { "x-goog-api-key": secret };
}
