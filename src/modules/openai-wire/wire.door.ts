// The OpenAI wire format: POST /v1/chat/completions (whole or streamed), POST /v1/embeddings and
// GET /v1/models, with a Portcullis API key (or OIDC token) as the bearer. Each call runs the same
// pipeline as invokeModel (InvokeService): authentication, policies, budget, routing, usage, audit.
// `model` is `@<virtual-key>/<model>` or a route's slug.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Clock } from "../../clock.js";
import type { RequestMeta } from "../../context.js";
import { AppError, badInput } from "../../errors.js";
import type { Door } from "../../http/authenticate.js";
import { BodyTooLargeError, readBody } from "../../http/read-body.js";
import { closeAfterDraining } from "../../http/too-large.js";
import type { Logger } from "../../logger.js";
import type { ChatMessage, Usage } from "../../providers/types.js";
import type { Services } from "../../services.js";
import type { CallRef, ChatBody } from "../invoke/invoke.service.js";
import { chatCompletion, chunkEvent, DONE_EVENT, embeddingList, modelList, usageEvent } from "./wire.format.js";
import { sendWireError, wireErrorEvent } from "./wire.errors.js";
import { chatCompletionBody, describeIssue, embeddingsBody, PASS_THROUGH_FIELDS, type ChatCompletionBody } from "./wire.schema.js";

export interface WireDoorOptions {
  services: Services;
  clock: Clock;
  door: Door;
  logger: Logger;
  maxBodyBytes: number;
}

export interface WireRequestLog {
  requestId: string;
  principalId?: string;
  outcome?: string;
}

type Endpoint = "chat" | "embeddings" | "models";

const ENDPOINTS: Record<string, { endpoint: Endpoint; method: "GET" | "POST" }> = {
  "/v1/chat/completions": { endpoint: "chat", method: "POST" },
  "/v1/embeddings": { endpoint: "embeddings", method: "POST" },
  "/v1/models": { endpoint: "models", method: "GET" },
};

/** Everything under /v1/ is answered in OpenAI's shapes, an unknown path too. */
export function isWirePath(path: string): boolean {
  return path.startsWith("/v1/");
}

export function createWireDoor(o: WireDoorOptions) {
  const { invoke } = o.services;

  async function chat(meta: RequestMeta, body: ChatCompletionBody, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const ref = refOf(body.model);
    const chatBody = toChatBody(body);
    const created = Math.floor(o.clock.now().getTime() / 1000);
    if (!body.stream) {
      const done = await invoke.chat(meta, ref, chatBody);
      return sendJson(res, 200, chatCompletion(meta.requestId, created, done.result));
    }
    // The client leaving (the socket closes before the answer ended) stops the provider call.
    const left = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) left.abort();
    });
    req.on("aborted", () => left.abort());
    const opened = await invoke.openStream(meta, ref, chatBody, undefined, left.signal);
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", "x-accel-buffering": "no" });
    res.flushHeaders();
    let usage: Usage | undefined;
    let model = opened.model;
    try {
      for await (const chunk of opened.chunks) {
        if (chunk.model) model = chunk.model;
        if (chunk.usage) usage = chunk.usage;
        if (chunk.choices.length > 0) await write(res, chunkEvent(meta.requestId, created, model, chunk), left.signal);
        if (left.signal.aborted) return;
      }
      // The provider's own count, else what the call is billed (a provider that reports none).
      if (body.stream_options?.include_usage) await write(res, usageEvent(meta.requestId, created, model, usage ?? opened.billed()), left.signal);
      res.end(DONE_EVENT);
    } catch (err) {
      // The stream is already open: the error is its last event, and no [DONE] follows.
      const error = err instanceof AppError ? err : new AppError("INTERNAL_SERVER_ERROR", "Internal server error");
      if (!(err instanceof AppError)) o.logger.error({ requestId: meta.requestId, err: { type: (err as Error).name, message: (err as Error).message, stack: (err as Error).stack } }, "stream failed");
      res.end(wireErrorEvent(error, meta.requestId));
    }
  }

  async function embeddings(meta: RequestMeta, raw: unknown, res: ServerResponse): Promise<void> {
    const parsed = embeddingsBody.safeParse(raw);
    if (!parsed.success) throw invoke.refuse(meta, refusal(parsed.error));
    const { model, ...request } = parsed.data;
    const done = await invoke.embed(meta, refOf(model), request);
    sendJson(res, 200, embeddingList(done.result));
  }

  function models(meta: RequestMeta, res: ServerResponse): void {
    const routes = o.services.routeCalls.invocable(meta).map((r) => ({ id: r.slug, created: r.createdAt, ownedBy: "portcullis" }));
    // A virtual key serves whatever its provider names; "@slug/<model>" is how to call it.
    const keys = o.services.virtualKeyCalls.invocable(meta).map((k) => ({ id: `@${k.slug}/*`, created: k.createdAt, ownedBy: k.provider.toLowerCase() }));
    sendJson(res, 200, modelList([...routes, ...keys]));
  }

  return async function serveWire(req: IncomingMessage, res: ServerResponse, path: string, log: WireRequestLog, ip: string): Promise<void> {
    const route = ENDPOINTS[path];
    const requestId = log.requestId;
    if (!route) return sendWireError(res, new AppError("NOT_FOUND", "No such endpoint"), requestId, { status: 404, code: "unknown_url" });
    if (req.method !== route.method) {
      res.setHeader("allow", route.method);
      return sendWireError(res, new AppError("BAD_REQUEST", `Use ${route.method}`), requestId, { status: 405, code: "method_not_allowed" });
    }
    const userAgent = typeof req.headers["user-agent"] === "string" ? req.headers["user-agent"] : null;
    const auth = await o.door.check(req.headers.authorization, { requestId, ip, userAgent });
    if (!auth.ok) {
      log.outcome = `unauthenticated:${auth.reason}`;
      if (auth.status === 429) {
        o.services.metrics.rejected(auth.limit);
        return sendWireError(res, new AppError("RATE_LIMITED", auth.message, { retryAfterSeconds: auth.retryAfterSeconds }), requestId);
      }
      res.setHeader("www-authenticate", 'Bearer realm="portcullis"');
      return sendWireError(res, new AppError("UNAUTHENTICATED", "Authentication required: send a Portcullis API key as the bearer token"), requestId);
    }
    log.principalId = auth.principal.id;
    const meta: RequestMeta = { requestId, principal: auth.principal, ip, userAgent };
    try {
      if (route.endpoint === "models") return models(meta, res);
      let raw: unknown;
      try {
        raw = JSON.parse((await readBody(req, o.maxBodyBytes)).toString("utf8"));
      } catch (err) {
        if (err instanceof BodyTooLargeError) return refuseTooLarge(req, res, o.maxBodyBytes, requestId);
        throw invoke.refuse(meta, new AppError("BAD_REQUEST", "The request body is not valid JSON"));
      }
      if (route.endpoint === "embeddings") return await embeddings(meta, raw, res);
      const parsed = chatCompletionBody.safeParse(raw);
      if (!parsed.success) throw invoke.refuse(meta, refusal(parsed.error));
      await chat(meta, parsed.data, req, res);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      log.outcome = `error:${err.code}`;
      if (res.headersSent) return void res.destroy();
      sendWireError(res, err, requestId);
    }
  };
}

/** `@<virtual key>/<model>` (the model may hold slashes: `@together/meta-llama/Llama-3`), or a route. */
function refOf(model: string): CallRef {
  if (!model.startsWith("@")) return { route: model, model: null };
  const slash = model.indexOf("/");
  if (slash < 2 || slash === model.length - 1) throw badInput("model must be @<virtual-key>/<model-name>, or a route's slug", "model");
  return { virtualKey: model.slice(1, slash), model: model.slice(slash + 1) };
}

/** The wire body as the adapters take it: nulls are absent, a single stop string is a list. */
function toChatBody(b: ChatCompletionBody): ChatBody {
  const body: ChatBody = { messages: b.messages as ChatMessage[] };
  if (b.tools) body.tools = b.tools as ChatBody["tools"];
  if (b.tool_choice !== undefined) body.tool_choice = b.tool_choice;
  if (b.parallel_tool_calls !== undefined) body.parallel_tool_calls = b.parallel_tool_calls;
  if (b.response_format) body.response_format = b.response_format as ChatBody["response_format"];
  if (b.temperature != null) body.temperature = b.temperature;
  if (b.top_p != null) body.top_p = b.top_p;
  if (b.max_tokens != null) body.max_tokens = b.max_tokens;
  if (b.max_completion_tokens != null) body.max_completion_tokens = b.max_completion_tokens;
  if (b.stop != null) body.stop = typeof b.stop === "string" ? [b.stop] : b.stop;
  if (b.seed != null) body.seed = b.seed;
  if (b.user !== undefined) body.user = b.user;
  if (b.n != null) body.n = b.n;
  let extra: Record<string, unknown> | undefined;
  for (const field of PASS_THROUGH_FIELDS) {
    const value = (b as Record<string, unknown>)[field];
    if (value !== undefined) (extra ??= {})[field] = value;
  }
  if (extra) body.extra = extra;
  return body;
}

function refusal(error: Parameters<typeof describeIssue>[0]): AppError {
  const { field, message } = describeIssue(error);
  return badInput(message, field);
}

function sendJson(res: ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader("content-type", "application/json; charset=utf-8");
  res.setHeader("content-length", Buffer.byteLength(text));
  res.end(text);
}

function refuseTooLarge(req: IncomingMessage, res: ServerResponse, limit: number, requestId: string): void {
  closeAfterDraining(req, res);
  sendJson(res, 413, JSON.stringify({ error: { message: `The request body is larger than ${limit} bytes`, type: "invalid_request_error", param: null, code: "request_too_large", request_id: requestId } }));
}

/** Writes an event, waiting for the client to take it when its buffer is full (or until it leaves). */
function write(res: ServerResponse, data: string, left: AbortSignal): Promise<void> | void {
  if (res.write(data) || left.aborted) return;
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      left.removeEventListener("abort", done);
      resolve();
    };
    res.on("drain", done);
    left.addEventListener("abort", done);
  });
}
