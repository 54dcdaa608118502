// The Gemini generateContent wire format, translated both ways from OpenAI's chat completions.
// Turns are "user" and "model", system text travels apart, tool calls and their results are
// parts matched by function name (Gemini has no call IDs in this API).
import { count, isRecord } from "../adapter.js";
import { ProviderFailure, UnsupportedByProvider } from "../errors.js";
import type { ChatChoice, ChatRequest, ChatResult, ContentPart, FinishReason, TextPart, ToolCall, ToolChoice, Usage } from "../types.js";

export const FINISH_REASONS: Record<string, FinishReason> = {
  STOP: "stop",
  MAX_TOKENS: "length",
  SAFETY: "content_filter",
  RECITATION: "content_filter",
  BLOCKLIST: "content_filter",
  PROHIBITED_CONTENT: "content_filter",
  SPII: "content_filter",
  IMAGE_SAFETY: "content_filter",
};

/**
 * Gemini 3 rejects a replayed functionCall part without the thoughtSignature it was answered
 * with, and OpenAI's tool calls have nowhere to keep one. Google documents this value for
 * history it did not sign (another model's, or rebuilt by the caller); models without the
 * check ignore it.
 */
export const UNSIGNED_THOUGHT = "skip_thought_signature_validator";

type Part = Record<string, unknown>;
interface Content {
  role: "user" | "model";
  parts: Part[];
}

export function toGeminiContent(request: ChatRequest): Record<string, unknown> {
  const system: Part[] = [];
  const contents: Content[] = [];
  // Gemini answers a call by function name: each tool_call_id is looked up among earlier
  // assistant messages, the latest first (synthesized IDs repeat from one answer to the next).
  const callNames = new Map<string, string>();
  for (const message of request.messages) {
    let content: Content;
    switch (message.role) {
      case "system":
      case "developer":
        // One system instruction, so system messages anywhere in the conversation are hoisted.
        system.push(...textParts(message.content));
        continue;
      case "user":
        content = { role: "user", parts: typeof message.content === "string" ? textParts(message.content) : message.content.flatMap(userPart) };
        break;
      case "assistant":
        for (const call of message.tool_calls ?? []) callNames.set(call.id, call.function.name);
        content = { role: "model", parts: [...textParts(message.content ?? ""), ...(message.tool_calls ?? []).map(callPart)] };
        break;
      case "tool": {
        const name = callNames.get(message.tool_call_id);
        if (name == null) throw new UnsupportedByProvider("messages", "A tool message must answer a tool call of an earlier assistant message");
        content = { role: "user", parts: [{ functionResponse: { name, response: { content: textOf(message.content) } } }] };
        break;
      }
    }
    if (content.parts.length === 0) continue; // Gemini rejects empty turns and empty text parts.
    // Consecutive turns of one side are one turn: the results of parallel calls must travel together.
    const last = contents.at(-1);
    if (last?.role === content.role) last.parts.push(...content.parts);
    else contents.push(content);
  }
  const maxOutputTokens = request.max_tokens ?? request.max_completion_tokens;
  const generationConfig = {
    ...(request.temperature != null && { temperature: request.temperature }),
    ...(request.top_p != null && { topP: request.top_p }),
    ...(maxOutputTokens != null && { maxOutputTokens }),
    ...(request.stop != null && request.stop.length > 0 && { stopSequences: request.stop }),
    ...(request.seed != null && { seed: request.seed }),
    ...(request.n != null && { candidateCount: request.n }),
    ...formatOf(request),
  };
  return {
    contents,
    ...(system.length > 0 && { systemInstruction: { parts: system } }),
    ...toolsOf(request),
    ...(Object.keys(generationConfig).length > 0 && { generationConfig }),
    // user: Gemini has no end-user field; parallel_tool_calls: no switch either (Gemini may always call several).
  };
}

function callPart(call: ToolCall, i: number): Part {
  let args: unknown;
  try {
    args = JSON.parse(call.function.arguments);
  } catch {
    args = undefined;
  }
  // The value itself is never echoed: it may be anything.
  if (!isRecord(args)) throw new UnsupportedByProvider("messages", "An assistant tool call's arguments must be a JSON object for Gemini");
  // Only the first call of a step carries a signature, parallel calls after it none.
  return { functionCall: { name: call.function.name, args }, ...(i === 0 && { thoughtSignature: UNSIGNED_THOUGHT }) };
}

function userPart(part: ContentPart): Part[] {
  if (part.type === "text") return textParts(part.text);
  // An https image would need fileData, which takes files uploaded to Google first.
  const data = /^data:([^;,]+);base64,(.+)$/is.exec(part.image_url.url);
  if (data == null) throw new UnsupportedByProvider("messages", "Gemini accepts images as data: URLs");
  return [{ inlineData: { mimeType: data[1].toLowerCase(), data: data[2] } }];
}

function textParts(content: string | TextPart[]): Part[] {
  const texts = typeof content === "string" ? [content] : content.map((p) => p.text);
  return texts.filter((text) => text !== "").map((text) => ({ text }));
}

function textOf(content: string | TextPart[]): string {
  return typeof content === "string" ? content : content.map((p) => p.text).join("\n");
}

/**
 * Tool parameters go as parametersJsonSchema, which takes JSON Schema as sent, rather than
 * `parameters`, Google's OpenAPI subset: no schema rewriting (additionalProperties, $schema,
 * $ref, anyOf...) that could silently loosen what the caller declared, and the same dialect
 * as responseJsonSchema below.
 */
function toolsOf(request: ChatRequest): Record<string, unknown> {
  if (request.tools == null || request.tools.length === 0) return {};
  const functionDeclarations = request.tools.map(({ function: f }) => ({
    name: f.name,
    ...(f.description != null && { description: f.description }),
    ...(f.parameters != null && { parametersJsonSchema: f.parameters }),
  }));
  const functionCallingConfig = choiceOf(request.tool_choice);
  return { tools: [{ functionDeclarations }], ...(functionCallingConfig != null && { toolConfig: { functionCallingConfig } }) };
}

function choiceOf(choice: ToolChoice | undefined): Record<string, unknown> | null {
  if (choice == null) return null;
  if (typeof choice === "object") return { mode: "ANY", allowedFunctionNames: [choice.function.name] };
  return { mode: { auto: "AUTO", required: "ANY", none: "NONE" }[choice] };
}

function formatOf(request: ChatRequest): Record<string, unknown> {
  const format = request.response_format;
  if (format?.type === "json_object") return { responseMimeType: "application/json" };
  if (format?.type !== "json_schema") return {};
  const schema = format.json_schema.schema;
  return { responseMimeType: "application/json", ...(schema != null && { responseJsonSchema: schema }) };
}

/** What a candidate's parts say: text (thought summaries left out) and function calls. */
export function partsOf(candidate: Record<string, unknown>): { text: string[]; calls: { name: string; args: unknown }[] } {
  const text: string[] = [];
  const calls: { name: string; args: unknown }[] = [];
  if (candidate.content == null) return { text, calls }; // a blocked candidate has no content
  const parts = isRecord(candidate.content) ? candidate.content.parts ?? [] : null;
  if (!Array.isArray(parts)) throw new ProviderFailure("invalid_response");
  for (const part of parts) {
    if (!isRecord(part)) throw new ProviderFailure("invalid_response");
    if (part.thought === true) continue;
    if (typeof part.text === "string") text.push(part.text);
    if (isRecord(part.functionCall)) {
      if (typeof part.functionCall.name !== "string") throw new ProviderFailure("invalid_response");
      calls.push({ name: part.functionCall.name, args: part.functionCall.args ?? {} });
    }
  }
  return { text, calls };
}

/** Deterministic, so a whole answer and the same answer streamed name their calls alike. */
export function callId(candidate: number, n: number): string {
  return `call_${candidate}_${n}`;
}

export function candidateIndex(candidate: Record<string, unknown>, position: number): number {
  return typeof candidate.index === "number" ? count(candidate.index) : position;
}

export function finishOf(reason: string, produced: boolean, called: boolean): FinishReason | null {
  const mapped = FINISH_REASONS[reason];
  if (called && (mapped === "stop" || mapped == null)) return "tool_calls";
  return mapped ?? (produced ? "stop" : null);
}

export function usageOf(metadata: Record<string, unknown>): Usage {
  const promptTokens = count(metadata.promptTokenCount);
  // Thinking is billed as output; OpenAI counts reasoning tokens in completion_tokens too.
  const completionTokens = count(metadata.candidatesTokenCount) + count(metadata.thoughtsTokenCount);
  return { promptTokens, completionTokens, totalTokens: count(metadata.totalTokenCount) || promptTokens + completionTokens };
}

export function blocked(body: Record<string, unknown>): boolean {
  return isRecord(body.promptFeedback) && typeof body.promptFeedback.blockReason === "string";
}

export function readGeminiContent(body: unknown, request: ChatRequest): ChatResult {
  if (!isRecord(body)) throw new ProviderFailure("invalid_response");
  const candidates = Array.isArray(body.candidates) ? body.candidates : [];
  let choices: ChatChoice[];
  if (candidates.length > 0) choices = candidates.map(readCandidate);
  // The prompt itself was blocked: no candidate at all.
  else if (blocked(body)) choices = [{ index: 0, message: { role: "assistant", content: null }, finish_reason: "content_filter" }];
  else throw new ProviderFailure("invalid_response");
  return {
    model: typeof body.modelVersion === "string" ? body.modelVersion : request.model,
    choices,
    usage: usageOf(isRecord(body.usageMetadata) ? body.usageMetadata : {}),
  };
}

function readCandidate(candidate: unknown, position: number): ChatChoice {
  if (!isRecord(candidate)) throw new ProviderFailure("invalid_response");
  const index = candidateIndex(candidate, position);
  const { text, calls } = partsOf(candidate);
  const toolCalls: ToolCall[] = calls.map((c, n) => ({ id: callId(index, n), type: "function", function: { name: c.name, arguments: JSON.stringify(c.args) } }));
  const content = text.join("") || null;
  return {
    index,
    message: { role: "assistant", content, ...(toolCalls.length > 0 && { tool_calls: toolCalls }) },
    finish_reason: typeof candidate.finishReason === "string" ? finishOf(candidate.finishReason, content != null, toolCalls.length > 0) : null,
  };
}
