// The Anthropic Messages wire format, translated both ways from OpenAI's chat completions.
// Anthropic keeps system text apart from the turns, wants user and assistant turns to
// alternate, carries tool results in user turns and requires max_tokens.
import { count, isRecord } from "../adapter.js";
import { ProviderFailure, UnsupportedByProvider } from "../errors.js";
import type { ChatMessage, ChatRequest, ChatResult, ContentPart, FinishReason, TextPart, ToolCall, ToolChoice, Usage } from "../types.js";

export const ANTHROPIC_DEFAULT_MAX_TOKENS = 1024;

/** What JSON mode adds to the system prompt: Anthropic has no json_object switch. */
export const JSON_OBJECT_INSTRUCTION = "Answer with one JSON object only: no prose before or after it, no code fences.";

export const STOP_REASONS: Record<string, FinishReason> = {
  end_turn: "stop",
  stop_sequence: "stop",
  // A server tool paused a long turn: the answer so far is whole, the caller may continue it.
  pause_turn: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  refusal: "content_filter",
};

// The image types Anthropic accepts; anything else would be the provider's opaque 400.
const IMAGE_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);
const EMPTY_SCHEMA = { type: "object", properties: {} };

type Block = Record<string, unknown>;
interface Turn {
  role: "user" | "assistant";
  content: Block[];
}

export function toAnthropicMessages(request: ChatRequest, stream: boolean): Record<string, unknown> {
  if (request.n != null && request.n > 1) throw new UnsupportedByProvider("n", "Anthropic returns one choice per call: n must be 1");
  // Anthropic's range is 0 to 1; OpenAI's goes to 2. Refused rather than clamped: 1.5 means something else here.
  if (request.temperature != null && request.temperature > 1) throw new UnsupportedByProvider("temperature", "Anthropic accepts a temperature from 0 to 1");
  const system: string[] = [];
  const turns: Turn[] = [];
  for (const message of request.messages) {
    // Anthropic has one system prompt, so system messages anywhere in the conversation are hoisted.
    if (isSystem(message)) {
      system.push(textOf(message.content));
      continue;
    }
    const turn = turnOf(message);
    if (turn.content.length === 0) continue; // Anthropic rejects empty turns and empty text blocks.
    const last = turns.at(-1);
    if (last?.role === turn.role) last.content.push(...turn.content);
    else turns.push(turn);
  }
  if (request.response_format?.type === "json_object") system.push(JSON_OBJECT_INSTRUCTION);
  const systemText = system.filter((s) => s !== "").join("\n\n");
  return {
    model: request.model,
    max_tokens: request.max_tokens ?? request.max_completion_tokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
    ...(systemText !== "" && { system: systemText }),
    // One text block is sent as a plain string, the common case as Anthropic documents it.
    messages: turns.map((t) => ({ role: t.role, content: t.content.length === 1 && t.content[0].type === "text" ? t.content[0].text : t.content })),
    ...toolsOf(request),
    ...(request.temperature != null && { temperature: request.temperature }),
    ...(request.top_p != null && { top_p: request.top_p }),
    ...(request.stop != null && request.stop.length > 0 && { stop_sequences: request.stop }),
    ...(request.user != null && { metadata: { user_id: request.user } }),
    // seed: Anthropic has none; dropped, as a seed is a best-effort hint everywhere.
    ...(stream && { stream: true }),
  };
}

type SystemMessage = Extract<ChatMessage, { role: "system" | "developer" }>;

function isSystem(message: ChatMessage): message is SystemMessage {
  return message.role === "system" || message.role === "developer";
}

function turnOf(message: Exclude<ChatMessage, SystemMessage>): Turn {
  switch (message.role) {
    case "user":
      return { role: "user", content: typeof message.content === "string" ? textBlocks(message.content) : message.content.flatMap(userBlock) };
    case "assistant": {
      const text = typeof message.content === "string" || message.content == null ? textBlocks(message.content ?? "") : message.content.flatMap((p) => textBlocks(p.text));
      const calls = (message.tool_calls ?? []).map((c) => ({ type: "tool_use", id: c.id, name: c.function.name, input: argumentsOf(c) }));
      return { role: "assistant", content: [...text, ...calls] };
    }
    case "tool": {
      // A tool's output is something the user side tells the model.
      const content = textOf(message.content);
      return { role: "user", content: [{ type: "tool_result", tool_use_id: message.tool_call_id, ...(content !== "" && { content }) }] };
    }
  }
}

function userBlock(part: ContentPart): Block[] {
  if (part.type === "text") return textBlocks(part.text);
  const url = part.image_url.url;
  // Schemes and media types are case-insensitive (RFC 3986, RFC 2045); Anthropic wants them lower-case.
  if (/^https:\/\//i.test(url)) return [{ type: "image", source: { type: "url", url } }];
  const data = /^data:([^;,]+);base64,(.+)$/is.exec(url);
  if (data == null) throw new UnsupportedByProvider("messages", "Anthropic accepts images as https or base64 data: URLs");
  const mediaType = data[1].toLowerCase();
  if (!IMAGE_TYPES.has(mediaType)) throw new UnsupportedByProvider("messages", "Anthropic accepts JPEG, PNG, GIF and WebP images");
  return [{ type: "image", source: { type: "base64", media_type: mediaType, data: data[2] } }];
}

function textBlocks(text: string): Block[] {
  return text === "" ? [] : [{ type: "text", text }];
}

function textOf(content: string | TextPart[]): string {
  return typeof content === "string" ? content : content.map((p) => p.text).join("\n");
}

/** Anthropic takes a tool call's input as an object; the value itself is never echoed (it may be anything). */
function argumentsOf(call: ToolCall): Record<string, unknown> {
  let input: unknown;
  try {
    input = JSON.parse(call.function.arguments);
  } catch {
    input = undefined;
  }
  if (!isRecord(input)) throw new UnsupportedByProvider("messages", "An assistant tool call's arguments must be a JSON object for Anthropic");
  return input;
}

/**
 * json_schema becomes a tool whose input schema is the schema, and the model is made to call it;
 * its input is the answer. Anthropic's native structured outputs need a beta header and recent
 * models; a forced tool works on every Claude model, and its input is valid against the schema.
 */
export function jsonToolName(request: ChatRequest): string | null {
  return request.response_format?.type === "json_schema" ? request.response_format.json_schema.name : null;
}

function toolsOf(request: ChatRequest): { tools?: Block[]; tool_choice?: Block } {
  const tools: Block[] = (request.tools ?? []).map((t) => ({
    name: t.function.name,
    ...(t.function.description != null && { description: t.function.description }),
    input_schema: t.function.parameters ?? EMPTY_SCHEMA,
  }));
  const choice = request.tool_choice;
  const parallel = request.parallel_tool_calls === false ? { disable_parallel_tool_use: true } : {};
  const format = request.response_format;
  // When the caller demands a tool call (required, or a named function), the answer is that
  // call and the JSON tool stays out; otherwise the model answers with its tools or the JSON tool.
  if (format?.type === "json_schema" && choice !== "required" && typeof choice !== "object") {
    const { name, description, schema } = format.json_schema;
    if (tools.some((t) => t.name === name)) throw new UnsupportedByProvider("response_format", "On Anthropic the json_schema name must differ from every tool's name");
    const jsonTool = { name, description: description ?? "Give your answer as this tool's input.", input_schema: schema ?? EMPTY_SCHEMA };
    const forced = tools.length === 0 || choice === "none";
    return { tools: [...tools, jsonTool], tool_choice: forced ? { type: "tool", name } : { type: "any", ...parallel } };
  }
  if (tools.length === 0) return {};
  const mapped = choiceOf(choice);
  if (mapped == null) return { tools, ...(request.parallel_tool_calls === false && { tool_choice: { type: "auto", ...parallel } }) };
  return { tools, tool_choice: mapped.type === "none" ? mapped : { ...mapped, ...parallel } };
}

function choiceOf(choice: ToolChoice | undefined): Block | null {
  if (choice == null) return null;
  if (typeof choice === "object") return { type: "tool", name: choice.function.name };
  return { auto: { type: "auto" }, required: { type: "any" }, none: { type: "none" } }[choice];
}

export function finishOf(stopReason: unknown, toolCalls: number): FinishReason {
  const mapped = (typeof stopReason === "string" && STOP_REASONS[stopReason]) || "stop";
  // tool_use with only the JSON tool called is an answer, not a request to run tools.
  return mapped === "tool_calls" && toolCalls === 0 ? "stop" : mapped;
}

export function usageOf(prompt: Record<string, unknown>, completion: Record<string, unknown>): Usage {
  // Cached input is billed and counted apart by Anthropic; OpenAI's prompt_tokens includes it.
  const promptTokens = count(prompt.input_tokens) + count(prompt.cache_creation_input_tokens) + count(prompt.cache_read_input_tokens);
  const completionTokens = count(completion.output_tokens);
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
}

export function readAnthropicMessage(body: unknown, request: ChatRequest): ChatResult {
  if (!isRecord(body) || !Array.isArray(body.content)) throw new ProviderFailure("invalid_response");
  const jsonTool = jsonToolName(request);
  const texts: string[] = [];
  const toolCalls: ToolCall[] = [];
  let json: string | null = null;
  for (const block of body.content) {
    if (!isRecord(block)) throw new ProviderFailure("invalid_response");
    if (block.type === "text") {
      if (typeof block.text !== "string") throw new ProviderFailure("invalid_response");
      texts.push(block.text);
    } else if (block.type === "tool_use") {
      if (typeof block.id !== "string" || typeof block.name !== "string") throw new ProviderFailure("invalid_response");
      const args = JSON.stringify(block.input ?? {});
      if (block.name === jsonTool) json = args;
      else toolCalls.push({ id: block.id, type: "function", function: { name: block.name, arguments: args } });
    }
    // thinking, redacted_thinking and server tool blocks have no place in OpenAI's answer.
  }
  const usage = isRecord(body.usage) ? body.usage : {};
  return {
    model: typeof body.model === "string" ? body.model : request.model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: json ?? (texts.length > 0 ? texts.join("") : null), ...(toolCalls.length > 0 && { tool_calls: toolCalls }) },
        finish_reason: finishOf(body.stop_reason, toolCalls.length),
      },
    ],
    usage: usageOf(usage, usage),
  };
}
