// The GraphQL door's input checks: invokeModel and invokeModelStream carry text messages and a
// few sampling settings, turned here into the chat request every provider adapter speaks.
import canonicalize from "canonicalize";
import { badInput } from "../../errors.js";
import type { ChatMessage } from "../../providers/types.js";
import type { ChatBody } from "./invoke.service.js";
import { ChatRole } from "./invoke.type.js";

const MAX_MESSAGES = 1000;
const MAX_STOP_SEQUENCES = 16;
const MAX_METADATA_BYTES = 4096;

export interface InvokeArgs {
  virtualKey?: string | null;
  route?: string | null;
  model?: string | null;
  messages: { role: ChatRole; content: string }[];
  temperature?: number | null;
  maxTokens?: number | null;
  topP?: number | null;
  stop?: string[] | null;
  metadata?: unknown;
}

export function checkInvokeInput(input: InvokeArgs): { body: ChatBody; metadata: Record<string, unknown> | undefined } {
  if (input.messages.length === 0) throw badInput("messages must not be empty", "messages");
  if (input.messages.length > MAX_MESSAGES) throw badInput(`messages may hold at most ${MAX_MESSAGES} entries`, "messages");
  if (input.maxTokens !== null && input.maxTokens !== undefined && (!Number.isInteger(input.maxTokens) || input.maxTokens < 1)) {
    throw badInput("maxTokens must be a positive integer", "maxTokens");
  }
  const stop = input.stop ?? undefined;
  if (stop && stop.length > MAX_STOP_SEQUENCES) throw badInput(`stop may hold at most ${MAX_STOP_SEQUENCES} sequences`, "stop");
  const body: ChatBody = { messages: input.messages.map(toMessage) };
  const temperature = checkRange(input.temperature, 0, 2, "temperature");
  const topP = checkRange(input.topP, 0, 1, "topP");
  if (temperature !== undefined) body.temperature = temperature;
  if (topP !== undefined) body.top_p = topP;
  if (input.maxTokens !== null && input.maxTokens !== undefined) body.max_tokens = input.maxTokens;
  if (stop && stop.length > 0) body.stop = stop;
  return { body, metadata: checkMetadata(input.metadata) };
}

/**
 * GraphQL's messages are text with a role. A TOOL message names no tool call here (the wire
 * format carries those), so it reaches the model as what the user side reports.
 */
function toMessage(m: { role: ChatRole; content: string }): ChatMessage {
  switch (m.role) {
    case ChatRole.SYSTEM:
      return { role: "system", content: m.content };
    case ChatRole.ASSISTANT:
      return { role: "assistant", content: m.content };
    default:
      return { role: "user", content: m.content };
  }
}

function checkRange(value: number | null | undefined, min: number, max: number, field: string): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (!Number.isFinite(value) || value < min || value > max) throw badInput(`${field} must be between ${min} and ${max}`, field);
  return value;
}

/** metadata is kept with the audit event, bounded; it decides nothing. */
export function checkMetadata(metadata: unknown): Record<string, unknown> | undefined {
  if (metadata === null || metadata === undefined) return undefined;
  if (typeof metadata !== "object" || Array.isArray(metadata)) throw badInput("metadata must be a JSON object", "metadata");
  let canonical: string;
  try {
    // RFC 8785 has no form for numbers JSON.parse turned into Infinity (1e400).
    canonical = canonicalize(metadata) ?? "";
  } catch {
    throw badInput("metadata must hold only finite numbers", "metadata");
  }
  if (Buffer.byteLength(canonical, "utf8") > MAX_METADATA_BYTES) throw badInput(`metadata must be at most ${MAX_METADATA_BYTES} bytes as JSON`, "metadata");
  return metadata as Record<string, unknown>;
}
