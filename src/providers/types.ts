// What every provider adapter speaks: one normalized chat request and result. Adapters hold no
// GraphQL and no policy; they turn this into the provider's wire format and back.
export type ProviderName = "OPENAI" | "ANTHROPIC" | "AZURE_OPENAI" | "GOOGLE" | "OPENAI_COMPATIBLE";

export interface ChatMessageIn {
  role: "SYSTEM" | "USER" | "ASSISTANT" | "TOOL";
  content: string;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessageIn[];
  temperature?: number | null;
  maxTokens?: number | null;
  topP?: number | null;
  stop?: string[] | null;
}

export interface ChatResult {
  model: string;
  content: string | null;
  finishReason: string | null;
  usage: { promptTokens: number; completionTokens: number; totalTokens: number };
}

/** Where a virtual key sends its calls: what was sealed together with its secret. */
export interface ProviderEndpoint {
  provider: ProviderName;
  baseUrl: string | null;
  providerOptions: Record<string, unknown> | null;
}
