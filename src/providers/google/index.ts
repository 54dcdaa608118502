import type { ProviderAdapter } from "../adapter.js";
import { googleGenerateUrl, googleHeaders } from "./api.js";
import { fromGeminiContent, toGeminiContent } from "./chat.js";

export const google: ProviderAdapter = {
  toWire: (endpoint, secret, request) => ({ url: googleGenerateUrl(endpoint, request.model), headers: googleHeaders(secret), body: toGeminiContent(request) }),
  fromWire: fromGeminiContent,
};
