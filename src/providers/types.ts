// What every provider adapter speaks. The lingua franca is OpenAI's chat completions shape
// (snake_case, as applications send it): OpenAI, Azure OpenAI and OpenAI-compatible providers
// receive it as sent; Anthropic and Gemini adapters translate it both ways. Adapters hold no
// GraphQL and no policy.
export type ProviderName = "OPENAI" | "ANTHROPIC" | "AZURE_OPENAI" | "GOOGLE" | "OPENAI_COMPATIBLE";

export interface TextPart {
  type: "text";
  text: string;
}

export interface ImagePart {
  type: "image_url";
  /** An https URL or a data: URL (base64). */
  image_url: { url: string; detail?: "auto" | "low" | "high" };
}

export type ContentPart = TextPart | ImagePart;

export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export type ChatMessage =
  | { role: "system" | "developer"; content: string | TextPart[]; name?: string }
  | { role: "user"; content: string | ContentPart[]; name?: string }
  | { role: "assistant"; content?: string | TextPart[] | null; tool_calls?: ToolCall[]; name?: string; refusal?: string | null }
  | { role: "tool"; content: string | TextPart[]; tool_call_id: string };

export interface ToolDefinition {
  type: "function";
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean };
}

export type ToolChoice = "none" | "auto" | "required" | { type: "function"; function: { name: string } };

export type ResponseFormat =
  | { type: "text" }
  | { type: "json_object" }
  | { type: "json_schema"; json_schema: { name: string; description?: string; schema?: Record<string, unknown>; strict?: boolean } };

/**
 * A chat request, validated at the door (src/modules/openai-wire for the wire format, the
 * invoke input for GraphQL). `model` is the provider's model name for the attempt. Fields the
 * door accepted beyond these (frequency_penalty, logprobs, ...) are in `extra` and reach
 * OpenAI-family providers unchanged; translating adapters ignore them.
 */
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  tool_choice?: ToolChoice;
  parallel_tool_calls?: boolean;
  response_format?: ResponseFormat;
  temperature?: number;
  top_p?: number;
  /** The completion cap; the door folds max_completion_tokens into it when only that is sent. */
  max_tokens?: number;
  max_completion_tokens?: number;
  stop?: string[];
  seed?: number;
  user?: string;
  n?: number;
  extra?: Record<string, unknown>;
}

/** OpenAI's finish reasons; every adapter maps its provider's reasons onto these. */
export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter";

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export interface ChatChoice {
  index: number;
  message: { role: "assistant"; content: string | null; tool_calls?: ToolCall[]; refusal?: string | null };
  finish_reason: FinishReason | null;
}

export interface ChatResult {
  /** The model that served the call, as the provider reports it (else the one asked for). */
  model: string;
  choices: ChatChoice[];
  usage: Usage;
}

export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: "function";
  function?: { name?: string; arguments?: string };
}

/** One piece of a streamed answer, in OpenAI's chunk vocabulary. */
export interface ChatChunk {
  model?: string;
  choices: { index: number; delta: { role?: "assistant"; content?: string; tool_calls?: ToolCallDelta[]; refusal?: string }; finish_reason: FinishReason | null }[];
  /** Set when the provider reports usage (normally once, at the end). */
  usage?: Usage;
}

/** Reads one provider's server-sent events into chunks; one decoder per stream. */
export interface StreamDecoder {
  /** One event as parsed by eventsource-parser; throws ProviderFailure("invalid_response") on an unreadable one. */
  push(event: { event?: string; data: string }): ChatChunk[];
  /** True once the provider signalled a complete answer ([DONE], message_stop, a final finishReason with usage). */
  readonly complete: boolean;
}

export interface EmbeddingsRequest {
  model: string;
  input: string | string[];
  dimensions?: number;
  encoding_format?: "float" | "base64";
  user?: string;
}

export interface EmbeddingsResult {
  model: string;
  data: { index: number; embedding: number[] | string }[];
  usage: { promptTokens: number; totalTokens: number };
}

/** Where a virtual key sends its calls: what was sealed together with its secret. */
export interface ProviderEndpoint {
  provider: ProviderName;
  baseUrl: string | null;
  providerOptions: Record<string, unknown> | null;
}
