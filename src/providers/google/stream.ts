// Gemini's streamGenerateContent (alt=sse) read into OpenAI's chunk vocabulary. Each event is a
// whole GenerateContentResponse holding the next piece of every candidate; function calls come
// whole, never split across events.
import { isRecord, parseEventObject } from "../adapter.js";
import { ProviderFailure } from "../errors.js";
import type { ChatChunk, StreamDecoder, ToolCallDelta, Usage } from "../types.js";
import { blocked, callId, candidateIndex, finishOf, partsOf, usageOf } from "./chat.js";

type Choice = ChatChunk["choices"][number];
interface CandidateState {
  calls: number;
  produced: boolean;
  finished: boolean;
}

export class GeminiStreamDecoder implements StreamDecoder {
  #complete = false;
  #model: string | undefined;
  #usage: Usage | undefined;
  #candidates = new Map<number, CandidateState>();

  get complete(): boolean {
    return this.#complete;
  }

  push(event: { event?: string; data: string }): ChatChunk[] {
    const body = parseEventObject(event.data);
    // An error after the 200 began; its message is provider text, only the status is kept.
    if (isRecord(body.error)) throw new ProviderFailure("http", httpStatus(body.error.code), null);
    if (typeof body.modelVersion === "string") this.#model = body.modelVersion;
    // Gemini repeats usageMetadata on every event; the last one seen holds the totals.
    if (isRecord(body.usageMetadata)) this.#usage = usageOf(body.usageMetadata);
    if (body.candidates != null && !Array.isArray(body.candidates)) throw new ProviderFailure("invalid_response");
    const candidates: unknown[] = body.candidates ?? [];
    const choices: Choice[] = [];
    if (candidates.length === 0 && blocked(body)) {
      // The prompt itself was blocked: one empty, filtered choice.
      choices.push({ index: 0, delta: this.#start(0), finish_reason: "content_filter" });
      this.#candidates.get(0)!.finished = true;
    }
    candidates.forEach((candidate, position) => {
      if (!isRecord(candidate)) throw new ProviderFailure("invalid_response");
      const choice = this.#read(candidate, candidateIndex(candidate, position));
      if (choice != null) choices.push(choice);
    });
    const chunks: ChatChunk[] = choices.length > 0 ? [{ ...this.#modelField(), choices }] : [];
    const states = [...this.#candidates.values()];
    if (!this.#complete && states.length > 0 && states.every((s) => s.finished)) {
      this.#complete = true;
      if (this.#usage != null) chunks.push({ ...this.#modelField(), choices: [], usage: this.#usage });
    }
    return chunks;
  }

  #read(candidate: Record<string, unknown>, index: number): Choice | null {
    const delta = this.#start(index);
    const state = this.#candidates.get(index)!;
    const { text, calls } = partsOf(candidate);
    const content = text.join("");
    if (content !== "") delta.content = content;
    if (calls.length > 0) {
      delta.tool_calls = calls.map((c): ToolCallDelta => {
        const n = state.calls++;
        return { index: n, id: callId(index, n), type: "function", function: { name: c.name, arguments: JSON.stringify(c.args) } };
      });
    }
    state.produced ||= content !== "";
    let finish = null;
    if (typeof candidate.finishReason === "string") {
      finish = finishOf(candidate.finishReason, state.produced, state.calls > 0);
      state.finished = true;
    }
    return Object.keys(delta).length > 0 || finish != null ? { index, delta, finish_reason: finish } : null;
  }

  /** The delta a candidate's next chunk begins with: the role on its first. */
  #start(index: number): Choice["delta"] {
    if (this.#candidates.has(index)) return {};
    this.#candidates.set(index, { calls: 0, produced: false, finished: false });
    return { role: "assistant" };
  }

  #modelField(): { model?: string } {
    return this.#model != null ? { model: this.#model } : {};
  }
}

function httpStatus(code: unknown): number {
  return typeof code === "number" && Number.isInteger(code) && code >= 400 && code <= 599 ? code : 500;
}
