// OpenAI's streamed chat completions: one chat.completion.chunk per event, a usage chunk at the
// end (stream_options.include_usage), then `data: [DONE]`.
import { isRecord, parseEventObject } from "../adapter.js";
import { ProviderFailure } from "../errors.js";
import type { ChatChunk, StreamDecoder, ToolCallDelta } from "../types.js";
import { openAiFinishReason, openAiUsage } from "./chat.js";

export function openAiStreamDecoder(): StreamDecoder {
  return new OpenAiStreamDecoder();
}

class OpenAiStreamDecoder implements StreamDecoder {
  complete = false;

  push(event: { event?: string; data: string }): ChatChunk[] {
    if (event.data === "[DONE]") {
      this.complete = true;
      return [];
    }
    const parsed = parseEventObject(event.data);
    if (parsed.error !== undefined && parsed.error !== null) throw streamedError(parsed.error);
    if (event.event === "error") throw streamedError(parsed);
    const chunk = readChunk(parsed);
    return chunk === null ? [] : [chunk];
  }
}

function readChunk(raw: Record<string, unknown>): ChatChunk | null {
  const rawChoices = Array.isArray(raw.choices) ? raw.choices : [];
  const choices: ChatChunk["choices"] = [];
  for (let i = 0; i < rawChoices.length; i++) {
    const choice: unknown = rawChoices[i];
    if (!isRecord(choice)) throw new ProviderFailure("invalid_response");
    const delta: ChatChunk["choices"][number]["delta"] = {};
    if (isRecord(choice.delta)) {
      const d = choice.delta;
      if (d.role === "assistant") delta.role = "assistant";
      if (typeof d.content === "string") delta.content = d.content;
      if (Array.isArray(d.tool_calls) && d.tool_calls.length > 0) delta.tool_calls = toolCallDeltas(d.tool_calls);
      if (typeof d.refusal === "string") delta.refusal = d.refusal;
    }
    choices.push({ index: typeof choice.index === "number" ? choice.index : i, delta, finish_reason: openAiFinishReason(choice.finish_reason) });
  }
  const hasUsage = isRecord(raw.usage);
  // Azure opens with a chunk of prompt filter results only: nothing to pass on.
  if (choices.length === 0 && !hasUsage) return null;
  const chunk: ChatChunk = { choices };
  if (typeof raw.model === "string" && raw.model !== "") chunk.model = raw.model;
  if (hasUsage) chunk.usage = openAiUsage(raw.usage);
  return chunk;
}

function toolCallDeltas(raw: unknown[]): ToolCallDelta[] {
  const deltas: ToolCallDelta[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const call: unknown = raw[i];
    if (!isRecord(call)) throw new ProviderFailure("invalid_response");
    const delta: ToolCallDelta = { index: typeof call.index === "number" ? call.index : i };
    if (typeof call.id === "string") delta.id = call.id;
    if (call.type === "function") delta.type = "function";
    if (isRecord(call.function)) {
      const fn: NonNullable<ToolCallDelta["function"]> = {};
      if (typeof call.function.name === "string") fn.name = call.function.name;
      if (typeof call.function.arguments === "string") fn.arguments = call.function.arguments;
      delta.function = fn;
    }
    deltas[i] = delta;
  }
  return deltas;
}

/** An error the provider sent inside the stream, after its 200: its status when it names one, else a 500. */
function streamedError(error: unknown): ProviderFailure {
  if (!isRecord(error)) return new ProviderFailure("invalid_response");
  const status = [error.status, error.code].find((v) => typeof v === "number" && v >= 400 && v <= 599) as number | undefined;
  if (status !== undefined) return new ProviderFailure("http", status);
  return new ProviderFailure("http", error.code === "rate_limit_exceeded" || error.type === "rate_limit_error" ? 429 : 500);
}
