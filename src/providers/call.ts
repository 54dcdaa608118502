// The one engine every adapter runs on: build the wire request, send it through the guarded
// outbound client with a deadline, read a bounded answer (whole JSON, or server-sent events
// decoded as they arrive), and turn every failure into a ProviderFailure that holds nothing of
// the provider's body or headers.
import { createParser } from "eventsource-parser";
import type { Dispatcher } from "undici";
import type { OutboundClient } from "../net/outbound.js";
import type { ProviderAdapter, WireRequest } from "./adapter.js";
import { ProviderFailure, UnsupportedByProvider } from "./errors.js";
import type { ChatChunk, ChatRequest, ChatResult, EmbeddingsRequest, EmbeddingsResult, ProviderEndpoint, StreamDecoder } from "./types.js";

/** A whole JSON answer, and also the largest single event of a stream. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
/** Everything one stream may carry. */
const MAX_STREAM_BYTES = 16 * 1024 * 1024;
/** An error body is read this far (to keep the connection reusable), then dropped. */
const MAX_DRAINED_BYTES = 64 * 1024;

export interface ChatCall {
  adapter: ProviderAdapter;
  endpoint: ProviderEndpoint;
  secret: string;
  request: ChatRequest;
  /** For a whole answer, the deadline of the call; for a stream, the deadline of the headers and then the longest silence between bytes. */
  timeoutMs: number;
  /** Aborted when the client left: the provider call is cut and fails with "aborted". */
  signal?: AbortSignal;
  /** The time an HTTP-date retry-after is read against (the server's injected clock). */
  now?: () => number;
}

export interface EmbeddingsCall {
  adapter: ProviderAdapter;
  endpoint: ProviderEndpoint;
  secret: string;
  request: EmbeddingsRequest;
  timeoutMs: number;
  signal?: AbortSignal;
  now?: () => number;
}

export async function callChat(outbound: OutboundClient, call: ChatCall): Promise<ChatResult> {
  const wire = call.adapter.chatRequest(call.endpoint, call.secret, call.request, false);
  const body = await sendForJson(outbound, wire, call.timeoutMs, call.signal, call.now);
  return call.adapter.readChat(body, call.request);
}

export async function callEmbeddings(outbound: OutboundClient, call: EmbeddingsCall): Promise<EmbeddingsResult> {
  const embeddings = call.adapter.embeddings;
  if (!embeddings) throw new UnsupportedByProvider("model", `${call.endpoint.provider} offers no embeddings`);
  const wire = embeddings.request(call.endpoint, call.secret, call.request);
  const body = await sendForJson(outbound, wire, call.timeoutMs, call.signal, call.now);
  return embeddings.read(body, call.request);
}

/**
 * Sends a streamed chat request and resolves once the provider answered 2xx headers, so that
 * the caller may still retry or fall back before anything reached its client. Iterating yields
 * the chunks as their events arrive; it throws ProviderFailure("stream_cut") when the body ends
 * before the provider signalled a complete answer. Iterate it once.
 */
export async function openChatStream(outbound: OutboundClient, call: ChatCall): Promise<AsyncIterable<ChatChunk>> {
  const wire = call.adapter.chatRequest(call.endpoint, call.secret, call.request, true);
  const decoder = call.adapter.streamDecoder(call.request);
  const body = serialize(wire.body);
  const watch = new StreamWatch(call.signal, call.timeoutMs);
  let res: Dispatcher.ResponseData<unknown>;
  try {
    // No timeoutMs here: the outbound client would make it a deadline for the whole stream.
    // StreamWatch gives the headers their deadline and the body its idle timeout instead.
    res = await outbound.request(wire.url, {
      method: "POST",
      query: wire.query,
      headers: { "content-type": "application/json", accept: "text/event-stream", ...wire.headers },
      body,
      signal: watch.signal,
    });
  } catch (err) {
    watch.stop();
    throw watch.failure(err, "connection");
  }
  const status = res.statusCode;
  if (status < 200 || status >= 300) {
    await drain(res.body);
    watch.stop();
    throw new ProviderFailure("http", status, retryAfterMs(res.headers, call.now?.()));
  }
  if (isJson(res.headers["content-type"])) {
    // A 2xx JSON answer to a stream request is not a stream (a server that ignored stream: true, or an error).
    await drain(res.body);
    watch.stop();
    throw new ProviderFailure("invalid_response", status);
  }
  const upstream = res.body;
  const chunks = chunksOf(upstream, decoder, watch);
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => chunks.next(),
      // A generator never started skips its finally: letting go must still cut the upstream request.
      return: (value?: unknown) => {
        watch.stop();
        upstream.destroy();
        return chunks.return(value);
      },
    }),
  };
}

async function sendForJson(outbound: OutboundClient, wire: WireRequest, timeoutMs: number, signal: AbortSignal | undefined, now?: () => number): Promise<unknown> {
  const body = serialize(wire.body);
  let text: string;
  let status: number;
  try {
    const res = await outbound.request(wire.url, {
      method: "POST",
      query: wire.query,
      headers: { "content-type": "application/json", accept: "application/json", ...wire.headers },
      body,
      signal,
      timeoutMs,
    });
    status = res.statusCode;
    if (status < 200 || status >= 300) {
      await drain(res.body);
      throw new ProviderFailure("http", status, retryAfterMs(res.headers, now?.()));
    }
    text = await readBounded(res.body);
  } catch (err) {
    if (err instanceof ProviderFailure) throw err;
    if (signal?.aborted) throw new ProviderFailure("aborted");
    throw new ProviderFailure(isTimeout(err) ? "timeout" : "connection");
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ProviderFailure("invalid_response", status);
  }
}

function serialize(body: unknown): string {
  return typeof body === "string" ? body : JSON.stringify(body);
}

/** Drained and dropped: an error body may echo the credential. */
async function drain(body: Dispatcher.ResponseData["body"]): Promise<void> {
  await body.dump({ limit: MAX_DRAINED_BYTES }).catch(() => undefined);
}

async function readBounded(body: Dispatcher.ResponseData["body"]): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_RESPONSE_BYTES) {
      body.destroy();
      throw new ProviderFailure("invalid_response");
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0].toString("utf8") : Buffer.concat(chunks, size).toString("utf8");
}

/**
 * One stream's clock and exits: the headers' deadline, then an idle timeout that counts only
 * while the engine waits for the provider (a slow client must not look like a silent
 * provider), and the client's signal. Any of them aborts the upstream request.
 */
class StreamWatch {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private timedOut = false;
  /** True while the engine waits for bytes from the provider. */
  waiting = true;

  constructor(
    private readonly clientSignal: AbortSignal | undefined,
    timeoutMs: number,
  ) {
    this.timer = setTimeout(this.onTimer, timeoutMs);
    if (clientSignal) {
      if (clientSignal.aborted) this.controller.abort();
      else clientSignal.addEventListener("abort", this.onClientAbort, { once: true });
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get clientLeft(): boolean {
    return this.clientSignal?.aborted === true;
  }

  /** The idle timeout counts from now (re-armed if it fired meanwhile). */
  touch(): void {
    this.timer.refresh();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.clientSignal?.removeEventListener("abort", this.onClientAbort);
  }

  /** What an error thrown by the request or its body means. */
  failure(err: unknown, otherwise: "connection" | "stream_cut"): ProviderFailure {
    if (this.clientLeft) return new ProviderFailure("aborted");
    if (this.timedOut) return new ProviderFailure("timeout");
    if (err instanceof ProviderFailure) return err;
    return new ProviderFailure(isTimeout(err) ? "timeout" : otherwise);
  }

  private readonly onTimer = (): void => {
    // Fired while the consumer held a chunk: the next touch() re-arms it.
    if (!this.waiting) return;
    this.timedOut = true;
    this.controller.abort();
  };

  private readonly onClientAbort = (): void => this.controller.abort();
}

async function* chunksOf(body: Dispatcher.ResponseData["body"], decoder: StreamDecoder, watch: StreamWatch): AsyncGenerator<ChatChunk> {
  const ready: ChatChunk[] = [];
  let failure: unknown = null;
  const parser = createParser({
    maxBufferSize: MAX_RESPONSE_BYTES,
    onEvent(event) {
      if (failure !== null) return;
      try {
        const chunks = decoder.push(event);
        for (let i = 0; i < chunks.length; i++) ready.push(chunks[i]);
      } catch (err) {
        failure = err;
      }
    },
    onError(err) {
      // Only an event larger than the cap ends the stream; a malformed line is skipped, as the SSE spec says.
      if (err.type === "max-buffer-size-exceeded" && failure === null) failure = new ProviderFailure("invalid_response");
    },
  });
  const text = new TextDecoder();
  const bytes = body as AsyncIterable<Buffer>;
  const iterator = bytes[Symbol.asyncIterator]();
  let total = 0;
  let ended = false;
  try {
    for (;;) {
      watch.waiting = true;
      watch.touch();
      const next = await iterator.next();
      watch.waiting = false;
      if (next.done) {
        ended = true;
        // A last event without its closing blank line still counts (some servers omit it).
        parser.feed("\n\n");
      } else {
        total += next.value.length;
        if (total > MAX_STREAM_BYTES) throw new ProviderFailure("invalid_response");
        parser.feed(text.decode(next.value, { stream: true }));
      }
      if (ready.length > 0) {
        // The parser is fed again only once the consumer took all of these.
        for (let i = 0; i < ready.length; i++) yield ready[i];
        ready.length = 0;
      }
      if (failure !== null) throw failure;
      if (ended) break;
    }
  } catch (err) {
    // The answer was whole already: a connection that then breaks or lingers takes nothing away.
    if (decoder.complete && !(err instanceof ProviderFailure) && !watch.clientLeft) return;
    throw watch.failure(err, "stream_cut");
  } finally {
    watch.stop();
    // Left early (the consumer stopped, a failure): the upstream request is cut.
    if (!ended) body.destroy();
  }
  if (!decoder.complete) throw new ProviderFailure("stream_cut");
}

/** The provider's wait hint: retry-after-ms (Azure, OpenAI), else retry-after in seconds or as an HTTP date. */
export function retryAfterMs(headers: Record<string, string | string[] | undefined>, now = Date.now()): number | null {
  const ms = first(headers["retry-after-ms"]);
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms));
  const value = first(headers["retry-after"])?.trim();
  if (!value) return null;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function isJson(contentType: string | string[] | undefined): boolean {
  const value = first(contentType);
  return value !== undefined && value.trimStart().toLowerCase().startsWith("application/json");
}

function isTimeout(err: unknown): boolean {
  const e = err as { name?: string; code?: string } | null;
  return e?.name === "TimeoutError" || e?.code === "UND_ERR_HEADERS_TIMEOUT" || e?.code === "UND_ERR_BODY_TIMEOUT" || e?.code === "UND_ERR_CONNECT_TIMEOUT";
}
