// The adapter of each provider.
import type { ProviderAdapter } from "./adapter.js";
import { anthropic } from "./anthropic/index.js";
import { azureOpenAi } from "./azure-openai/index.js";
import { google } from "./google/index.js";
import { openAiCompatible } from "./openai-compatible/index.js";
import { openAi } from "./openai/index.js";
import type { ProviderName } from "./types.js";

export const ADAPTERS: Record<ProviderName, ProviderAdapter> = {
  OPENAI: openAi,
  OPENAI_COMPATIBLE: openAiCompatible,
  AZURE_OPENAI: azureOpenAi,
  ANTHROPIC: anthropic,
  GOOGLE: google,
};
