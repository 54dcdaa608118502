// Anthropic's streamed Messages events, read into OpenAI's chunk vocabulary. Anthropic streams
// content blocks (text, tool_use, thinking) by block index; OpenAI streams one delta with text
// and tool calls numbered among tool calls only.
import { isRecord, parseEventObject } from "../adapter.js";
import { ProviderFailure } from "../errors.js";
import type { ChatChunk, ChatRequest, FinishReason, StreamDecoder } from "../types.js";
import { finishOf, jsonToolName, usageOf } from "./chat.js";

type Delta = ChatChunk["choices"][number]["delta"];
/** What a content block becomes: text, the toolIndex-th tool call, the JSON answer (json_schema mode) or nothing (thinking). */
type BlockKind = { kind: "text" } | { kind: "tool"; index: number } | { kind: "json" } | { kind: "ignored" };

// The HTTP status an error event stands for; Anthropic sends these after a 200 has begun.
const ERROR_STATUS: Record<string, number> = { overloaded_error: 529, rate_limit_error: 429 };

export class AnthropicStreamDecoder implements StreamDecoder {
  #complete = false;
  #model: string | undefined;
  #promptUsage: Record<string, unknown> = {};
  #blocks = new Map<number, BlockKind>();
  #toolCalls = 0;
  readonly #jsonTool: string | null;

  constructor(request: ChatRequest) {
    this.#jsonTool = jsonToolName(request);
  }

  get complete(): boolean {
    return this.#complete;
  }

  push(event: { event?: string; data: string }): ChatChunk[] {
    const data = parseEventObject(event.data);
    switch (data.type) {
      case "message_start": {
        const message = need(isRecord(data.message) && data.message);
        if (typeof message.model === "string") this.#model = message.model;
        if (isRecord(message.usage)) this.#promptUsage = message.usage;
        return [this.#chunk({ role: "assistant" })];
      }
      case "content_block_start": {
        const block = need(typeof data.index === "number" && isRecord(data.content_block) && data.content_block);
        if (block.type === "text") {
          this.#blocks.set(data.index as number, { kind: "text" });
          return typeof block.text === "string" && block.text !== "" ? [this.#chunk({ content: block.text })] : [];
        }
        if (block.type !== "tool_use") {
          this.#blocks.set(data.index as number, { kind: "ignored" });
          return [];
        }
        need(typeof block.id === "string" && typeof block.name === "string");
        if (block.name === this.#jsonTool) {
          this.#blocks.set(data.index as number, { kind: "json" });
          return [];
        }
        const index = this.#toolCalls++;
        this.#blocks.set(data.index as number, { kind: "tool", index });
        return [this.#chunk({ tool_calls: [{ index, id: block.id as string, type: "function", function: { name: block.name as string, arguments: "" } }] })];
      }
      case "content_block_delta": {
        const delta = need(typeof data.index === "number" && isRecord(data.delta) && data.delta);
        const block = this.#blocks.get(data.index as number) ?? { kind: "ignored" };
        if (delta.type === "text_delta") {
          need(typeof delta.text === "string");
          return block.kind === "text" && delta.text !== "" ? [this.#chunk({ content: delta.text as string })] : [];
        }
        if (delta.type !== "input_json_delta" || typeof delta.partial_json !== "string" || delta.partial_json === "") return [];
        if (block.kind === "json") return [this.#chunk({ content: delta.partial_json })];
        if (block.kind === "tool") return [this.#chunk({ tool_calls: [{ index: block.index, function: { arguments: delta.partial_json } }] })];
        return [];
      }
      case "message_delta": {
        const delta = need(isRecord(data.delta) && data.delta);
        // message_delta usage is cumulative; newer API versions repeat the input counts there too.
        const usage = isRecord(data.usage) ? data.usage : {};
        const prompt = usage.input_tokens != null ? usage : this.#promptUsage;
        const chunks: ChatChunk[] = [];
        if (delta.stop_reason != null) chunks.push(this.#chunk({}, finishOf(delta.stop_reason, this.#toolCalls)));
        chunks.push({ ...this.#modelField(), choices: [], usage: usageOf(prompt, usage) });
        return chunks;
      }
      case "message_stop":
        this.#complete = true;
        return [];
      case "error": {
        // The event's message is provider text: only its type is kept.
        const error = isRecord(data.error) ? data.error : {};
        throw new ProviderFailure("http", (typeof error.type === "string" && ERROR_STATUS[error.type]) || 500, null);
      }
      default:
        // content_block_stop, ping, and event types Anthropic may add later carry nothing to emit.
        return [];
    }
  }

  #modelField(): { model?: string } {
    return this.#model != null ? { model: this.#model } : {};
  }

  #chunk(delta: Delta, finish: FinishReason | null = null): ChatChunk {
    return { ...this.#modelField(), choices: [{ index: 0, delta, finish_reason: finish }] };
  }
}

/** The value when the event has the documented shape, else the stream is unreadable. */
function need<T>(value: T | false): T {
  if (value === false || value == null) throw new ProviderFailure("invalid_response");
  return value;
}
