// What a provider adapter is: data about one provider's wire format, applied by one engine
// (call.ts). An adapter builds the request from the sealed endpoint and the chat request, and
// reads the provider's answer (whole or streamed) back into the OpenAI vocabulary.
import { ProviderFailure } from "./errors.js";
import type { ChatRequest, ChatResult, EmbeddingsRequest, EmbeddingsResult, ProviderEndpoint, StreamDecoder } from "./types.js";

export interface WireRequest {
  url: string;
  query?: Record<string, string>;
  headers: Record<string, string>;
  /** Serialized by the engine; an OpenAI-family adapter may hand over a string it built itself. */
  body: unknown;
}

export interface ProviderAdapter {
  /** The URL comes from the sealed endpoint only, never from the call; the secret goes in a header. */
  chatRequest(endpoint: ProviderEndpoint, secret: string, request: ChatRequest, stream: boolean): WireRequest;
  /** Throws ProviderFailure("invalid_response") when the body is not the provider's success shape. */
  readChat(body: unknown, request: ChatRequest): ChatResult;
  streamDecoder(request: ChatRequest): StreamDecoder;
  /** Absent for providers without embeddings (Anthropic). */
  embeddings?: {
    request(endpoint: ProviderEndpoint, secret: string, request: EmbeddingsRequest): WireRequest;
    read(body: unknown, request: EmbeddingsRequest): EmbeddingsResult;
  };
}

/** The base URL of a call: the endpoint's override when set, else the provider's own. */
export function baseOf(endpoint: ProviderEndpoint, fallback: string): string {
  return (endpoint.baseUrl ?? fallback).replace(/\/+$/, "");
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** One server-sent event's JSON object; anything else makes the stream unreadable. */
export function parseEventObject(data: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    throw new ProviderFailure("invalid_response");
  }
  if (!isRecord(value)) throw new ProviderFailure("invalid_response");
  return value;
}

export function count(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? Math.floor(value) : 0;
}
