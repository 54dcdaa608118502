// The prompt and completion of a chat call as plain text, for PORTCULLIS_STORE_TEXT: one
// "role: text" paragraph per message, tool calls as "tool call name: arguments", images as a
// marker (their bytes are never stored). Redaction happens where the text is stored.
import type { ChatMessage, ChatResult, ToolCall } from "../../providers/types.js";

export interface CallText {
  prompt: string;
  /** Null when the provider answered nothing at all. */
  completion: string | null;
}

function contentText(content: ChatMessage["content"]): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((part) => (part.type === "text" ? part.text : "[image]")).join("\n");
}

function toolCallText(calls: readonly Pick<ToolCall, "function">[] | undefined): string[] {
  return (calls ?? []).map((c) => `tool call ${c.function.name}: ${c.function.arguments}`);
}

export function promptText(messages: readonly ChatMessage[]): string {
  return messages
    .map((m) => {
      const lines = [contentText(m.content)];
      if (m.role === "assistant") lines.push(...toolCallText(m.tool_calls));
      return `${m.role}: ${lines.filter(Boolean).join("\n")}`;
    })
    .join("\n\n");
}

/** An answer's text and tool calls; null when it has neither. */
function answerText(content: string, calls: readonly Pick<ToolCall, "function">[] | undefined): string | null {
  const parts = [content, ...toolCallText(calls)].filter(Boolean);
  return parts.length > 0 ? parts.join("\n") : null;
}

export function completionText(result: ChatResult): string | null {
  const message = result.choices[0]?.message;
  return message ? answerText(message.content ?? "", message.tool_calls) : null;
}

/** What a stream carried for its first choice, gathered chunk by chunk. */
export class StreamedText {
  private content = "";
  private readonly tools: { name: string; arguments: string }[] = [];

  add(delta: { content?: string; tool_calls?: { index: number; function?: { name?: string; arguments?: string } }[] }): void {
    if (delta.content) this.content += delta.content;
    for (const t of delta.tool_calls ?? []) {
      const tool = (this.tools[t.index] ??= { name: "", arguments: "" });
      tool.name += t.function?.name ?? "";
      tool.arguments += t.function?.arguments ?? "";
    }
  }

  text(): string | null {
    return answerText(this.content, this.tools.filter(Boolean).map((t) => ({ function: t })));
  }
}
