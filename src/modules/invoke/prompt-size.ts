// How large a prompt is, in characters, for the reservation made before a call (about four
// characters a token): message text, tool calls and tool definitions. Images are not counted:
// providers bill them by their own rules, which the settlement after the call takes.
import type { ChatRequest } from "../../providers/types.js";

export function promptChars(request: Pick<ChatRequest, "messages" | "tools">): number {
  let n = 0;
  for (const m of request.messages) {
    const content = m.content;
    if (typeof content === "string") n += content.length;
    else if (Array.isArray(content)) for (const part of content) if (part.type === "text") n += part.text.length;
    if (m.role === "assistant" && m.tool_calls) for (const t of m.tool_calls) n += t.function.name.length + t.function.arguments.length;
  }
  if (request.tools) n += JSON.stringify(request.tools).length;
  return n;
}
