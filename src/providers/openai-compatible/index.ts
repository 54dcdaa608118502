// Any server that speaks OpenAI's chat API at its own base URL (required when the key is stored).
import type { ProviderAdapter } from "../adapter.js";
import { ProviderFailure } from "../errors.js";
import { openAi } from "../openai/index.js";

export const openAiCompatible: ProviderAdapter = {
  toWire(endpoint, secret, request) {
    if (!endpoint.baseUrl) throw new ProviderFailure("unsupported");
    return openAi.toWire(endpoint, secret, request);
  },
  fromWire: openAi.fromWire,
};
