// A model call, followed in one file: resolve the virtual key or route (their modules), gather
// the call's policies, let the attempt loop (src/gateway/attempts.ts) try its targets with each
// attempt checked, admitted and retried, open the provider secret only around the provider call,
// then commit the usage rows and the audit event before answering. Both doors run through here:
// GraphQL (invokeModel, invokeModelStream) and the OpenAI wire format (src/modules/openai-wire).
// Prompts and completions pass through and are stored nowhere, unless PORTCULLIS_STORE_TEXT asks
// for them: then the text of each answered chat call is redacted and stored with its usage row.
import { performance } from "node:perf_hooks";
import type { Clock } from "../../clock.js";
import type { RequestMeta } from "../../context.js";
import { AppError, badInput, type ErrorCode } from "../../errors.js";
import type { Attempt, AttemptRunner, AttemptView, CallPlan, CallPolicies, Operation, Performed } from "../../gateway/attempts.js";
import { failureError } from "../../gateway/attempts.js";
import type { PolicyEnforcer } from "../../gateway/enforcement.types.js";
import { costUsd } from "../../gateway/pricing.js";
import type { OutboundClient } from "../../net/outbound.js";
import { callChat, callEmbeddings, openChatStream } from "../../providers/call.js";
import { ProviderFailure } from "../../providers/errors.js";
import { ADAPTERS } from "../../providers/index.js";
import { redactText } from "../../privacy/redact.js";
import type { ChatChunk, ChatRequest, ChatResult, EmbeddingsRequest, EmbeddingsResult, FinishReason, ProviderName, Usage } from "../../providers/types.js";
import { failureOutcome, markAudited } from "../audit/audit-outcome.js";
import type { AuditedWriter } from "../audit/audited-write.js";
import { validateModelName } from "../common/slug.js";
import type { RouteCalls } from "../routes/route.calls.js";
import type { Metrics } from "../../metrics/metrics.js";
import type { UsageRecorder } from "../usage/usage.recorder.js";
import type { VirtualKeyCalls } from "../virtual-keys/virtual-key.calls.js";
import type { SecretBox } from "../virtual-keys/secret-box.js";
import { completionText, promptText, StreamedText, type CallText } from "./call-text.js";
import { checkInvokeInput, type InvokeArgs } from "./invoke.checks.js";
import { promptChars } from "./prompt-size.js";

export type { InvokeArgs } from "./invoke.checks.js";

/** What a call is expected to produce when it does not say (Anthropic's required max_tokens default too). */
const DEFAULT_COMPLETION_ESTIMATE = 1024;

/** What a call goes through: exactly one of a virtual key and a route (ID or slug), and the model asked for. */
export interface CallRef {
  virtualKey?: string | null;
  route?: string | null;
  model?: string | null;
}

/** The request without its model: each attempt sends its target's. */
export type ChatBody = Omit<ChatRequest, "model">;

export interface ChatOutcome {
  requestId: string;
  provider: ProviderName;
  result: ChatResult;
  costUsd: number;
  latencyMs: number;
  attempts: AttemptView[];
}

export interface ChatStream {
  requestId: string;
  /** The model asked for at the attempt that serves. */
  model: string;
  provider: ProviderName;
  /** Chunks as the provider produces them; throws PROVIDER_ERROR when the provider cut the stream off. */
  chunks: AsyncGenerator<ChatChunk, void, undefined>;
  /** Once the chunks have ended: what the call was billed (the provider's count, else the estimate). */
  billed(): Usage;
}

export interface EmbeddingsOutcome {
  result: EmbeddingsResult;
  costUsd: number;
}

export interface InvokeResultView {
  id: string;
  provider: ProviderName;
  model: string;
  message: { role: "ASSISTANT"; content: string | null };
  finishReason: string | null;
  usage: Usage;
  costUsd: number;
  latencyMs: number;
  attempts: AttemptView[];
}

export interface StreamChunkView {
  id: string;
  delta: string;
  finishReason: string | null;
  usage: Usage | null;
}

interface Begun {
  call: CallPlan;
  policies: CallPolicies;
}

export class InvokeService {
  constructor(
    private readonly audit: AuditedWriter,
    private readonly secrets: SecretBox,
    private readonly outbound: OutboundClient,
    private readonly enforcer: PolicyEnforcer,
    private readonly runner: AttemptRunner,
    private readonly virtualKeyCalls: VirtualKeyCalls,
    private readonly routeCalls: RouteCalls,
    private readonly usage: UsageRecorder,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    /** PORTCULLIS_STORE_TEXT: off, the text of a call is never even gathered. */
    private readonly storeText: boolean,
  ) {}

  private readonly now = () => this.clock.now().getTime();

  /** Audits a call that the wire door refused before it reached here (an unreadable body), and marks the error so. */
  refuse(meta: RequestMeta, err: AppError): AppError {
    return this.refused(meta, null, err) as AppError;
  }

  /** invokeModel. */
  async invoke(meta: RequestMeta, input: InvokeArgs): Promise<InvokeResultView> {
    const { body, metadata } = this.checked(meta, input);
    const done = await this.chat(meta, input, body, metadata);
    const choice = done.result.choices[0];
    return {
      id: done.requestId,
      provider: done.provider,
      model: done.result.model,
      message: { role: "ASSISTANT", content: choice?.message.content ?? null },
      finishReason: choice?.finish_reason ?? null,
      usage: done.result.usage,
      costUsd: done.costUsd,
      latencyMs: done.latencyMs,
      attempts: done.attempts,
    };
  }

  /** invokeModelStream: text deltas as they come, then one last chunk with the finish reason and usage. */
  async *stream(meta: RequestMeta, input: InvokeArgs, signal?: AbortSignal): AsyncGenerator<StreamChunkView, void, undefined> {
    const { body, metadata } = this.checked(meta, input);
    const opened = await this.openStream(meta, input, body, metadata, signal);
    let finishReason: FinishReason | null = null;
    let usage: Usage | null = null;
    for await (const chunk of opened.chunks) {
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices.find((c) => c.index === 0);
      if (!choice) continue;
      if (choice.finish_reason) finishReason = choice.finish_reason;
      if (choice.delta.content) yield { id: opened.requestId, delta: choice.delta.content, finishReason: null, usage: null };
    }
    yield { id: opened.requestId, delta: "", finishReason, usage: usage ?? opened.billed() };
  }

  /** A whole answer. */
  async chat(meta: RequestMeta, ref: CallRef, body: ChatBody, metadata?: Record<string, unknown>): Promise<ChatOutcome> {
    const begun = this.begin(meta, ref);
    const started = performance.now();
    const run = await this.attempts(meta, begun, metadata, this.chatOperation(meta, body, async (request, timeoutMs, signal, opened) => {
        const result = await callChat(this.outbound, { ...opened, request, timeoutMs, signal, now: this.now });
        return { result, usage: result.usage, servedModel: result.model };
      }),
    );
    const served = run.served!;
    const text = this.storeText ? { prompt: promptText(body.messages), completion: completionText(run.result!) } : undefined;
    await this.finish(meta, begun.call, run.attempts, null, metadata, undefined, text);
    return {
      requestId: meta.requestId,
      provider: served.view.provider,
      result: run.result!,
      costUsd: served.costUsd,
      latencyMs: Math.round(performance.now() - started),
      attempts: run.attempts.map((a) => a.view),
    };
  }

  /**
   * A streamed answer. Resolves once a provider has started answering (budget reserved, retries
   * and fallback done before the first byte), or rejects with the call's error, already audited.
   * Usage and the audit event are written when the stream ends, cleanly, cut off, or because
   * the client left (signal aborted or the generator returned early): the client pays for what
   * was streamed until then.
   */
  async openStream(meta: RequestMeta, ref: CallRef, body: ChatBody, metadata: Record<string, unknown> | undefined, signal?: AbortSignal): Promise<ChatStream> {
    const begun = this.begin(meta, ref);
    // A stream's usage is known only when it ends: the relay settles it.
    const operation = this.chatOperation(meta, body, async (request, timeoutMs, attemptSignal, opened) => ({
      result: await openChatStream(this.outbound, { ...opened, request, timeoutMs, signal: attemptSignal, now: this.now }),
    }));
    const run = await this.attempts(meta, begun, metadata, operation, signal);
    const served = run.served!;
    const billed: { usage: Usage } = { usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 } };
    return {
      requestId: meta.requestId,
      model: served.view.model,
      provider: served.view.provider,
      chunks: this.relay(meta, begun.call, run.attempts, run.result!, run.settlement!, served.view.model, operation.promptTokens, metadata, billed, this.storeText ? body : undefined),
      billed: () => billed.usage,
    };
  }

  /** Embeddings through a virtual key or route, counted and priced like a chat. */
  async embed(meta: RequestMeta, ref: CallRef, request: Omit<EmbeddingsRequest, "model">): Promise<EmbeddingsOutcome> {
    const begun = this.begin(meta, ref);
    const chars = typeof request.input === "string" ? request.input.length : request.input.reduce((n, s) => n + s.length, 0);
    const prompt = Math.ceil(chars / 4);
    const operation: Operation<EmbeddingsResult> = {
      estimate: (model) => ({ requests: 1, tokens: prompt, costUsd: costUsd(model, prompt, 0) }),
      perform: (target, timeoutMs, signal) =>
        this.secrets
          .openSecret(meta.principal.organizationId, target.key.id, (opened) =>
            callEmbeddings(this.outbound, { adapter: ADAPTERS[opened.endpoint.provider], endpoint: opened.endpoint, secret: opened.secret, request: { ...request, model: target.model }, timeoutMs, signal, now: this.now }),
          )
          .then((result) => ({ result, usage: { promptTokens: result.usage.promptTokens, completionTokens: 0, totalTokens: result.usage.totalTokens }, servedModel: result.model })),
    };
    const run = await this.attempts(meta, begun, undefined, operation);
    await this.finish(meta, begun.call, run.attempts, null, undefined, { embeddings: true });
    return { result: run.result!, costUsd: run.served!.costUsd };
  }

  /** Input checks of the GraphQL door, audited like any refusal of a call. */
  private checked(meta: RequestMeta, input: InvokeArgs) {
    try {
      return checkInvokeInput(input);
    } catch (err) {
      throw this.refused(meta, null, err);
    }
  }

  /** The plan and policies of a call; a refusal (unknown target, no permission) is audited here. */
  private begin(meta: RequestMeta, ref: CallRef): Begun {
    try {
      const call = this.plan(meta, ref);
      const { principal } = meta;
      const organizationId = principal.organizationId;
      const applied = this.enforcer.gather({
        organizationId,
        apiKeyId: principal.apiKey?.id ?? null,
        userId: principal.kind === "USER" ? principal.id : (principal.apiKey?.ownerUserId ?? null),
        routeId: call.routeId,
        workspaceId: call.workspaceId,
      });
      return { call, policies: { applied, forKey: (target) => this.enforcer.forVirtualKey(organizationId, target.key.id), ip: meta.ip } };
    } catch (err) {
      throw this.refused(meta, ref, err);
    }
  }

  private plan(meta: RequestMeta, ref: CallRef): CallPlan {
    const byKey = ref.virtualKey !== null && ref.virtualKey !== undefined;
    const byRoute = ref.route !== null && ref.route !== undefined;
    if (byKey === byRoute) throw badInput("Give exactly one of virtualKey and route", byKey ? "route" : "virtualKey");
    const model = ref.model === null || ref.model === undefined ? null : validateModelName(ref.model, "model");
    const keyWorkspace = meta.principal.apiKey?.workspaceId ?? null;
    if (byKey) {
      if (model === null) throw badInput("model is required when calling through a virtual key", "model");
      return this.virtualKeyCalls.plan(meta, ref.virtualKey!, model, keyWorkspace);
    }
    return this.routeCalls.plan(meta, ref.route!, model, keyWorkspace);
  }

  /** Runs the attempt loop; a call that no target served is audited with its usage rows and rejected. */
  private async attempts<R>(meta: RequestMeta, begun: Begun, metadata: Record<string, unknown> | undefined, operation: Operation<R>, signal?: AbortSignal) {
    let run;
    try {
      run = await this.runner.run(begun.call, begun.policies, operation, signal);
    } catch (err) {
      // The attempts made before the unexpected failure are lost with it; the event still says it happened.
      await this.finish(meta, begun.call, [], "INTERNAL_SERVER_ERROR", metadata);
      throw markAudited(err instanceof Error ? err : new Error(String(err)));
    }
    if (run.result === undefined) {
      const error = run.error!;
      if (signal?.aborted) {
        // The client left before any provider answered: nobody failed, and nothing was served.
        await this.finish(meta, begun.call, run.attempts, null, metadata, { stream: true, ended: "client_left" });
        throw markAudited(new AppError("PROVIDER_ERROR", "The client left before the provider answered"));
      }
      await this.finish(meta, begun.call, run.attempts, error.code, metadata);
      throw markAudited(error);
    }
    return run;
  }

  /** The chat operation of the attempt loop, for a whole answer or a stream. */
  private chatOperation<R>(
    meta: RequestMeta,
    body: ChatBody,
    send: (request: ChatRequest, timeoutMs: number, signal: AbortSignal | undefined, opened: Pick<Parameters<typeof callChat>[1], "adapter" | "endpoint" | "secret">) => Promise<Performed<R>>,
  ): Operation<R> & { promptTokens: number } {
    const promptTokens = Math.ceil(promptChars(body) / 4);
    const asked = body.max_tokens ?? body.max_completion_tokens;
    let cap: number | undefined;
    return {
      promptTokens,
      estimate: (model, limited) => {
        // The reservation counts DEFAULT_COMPLETION_ESTIMATE when the caller names no cap; under a budget
        // or token limit the provider must be held to it, or its own output cap is spent beyond the limit.
        cap = asked === undefined && limited ? DEFAULT_COMPLETION_ESTIMATE : undefined;
        const completion = asked ?? DEFAULT_COMPLETION_ESTIMATE;
        return { requests: 1, tokens: promptTokens + completion, costUsd: costUsd(model, promptTokens, completion) };
      },
      perform: (target, timeoutMs, signal) => {
        const request: ChatRequest = cap === undefined ? { ...body, model: target.model } : { ...body, model: target.model, max_tokens: cap };
        return this.secrets
          .openSecret(meta.principal.organizationId, target.key.id, (opened) =>
            send(request, timeoutMs, signal, { adapter: ADAPTERS[opened.endpoint.provider], endpoint: opened.endpoint, secret: opened.secret }),
          );
      },
    };
  }

  /** Relays a provider stream and settles it when it ends, however it ends. */
  private async *relay(
    meta: RequestMeta,
    call: CallPlan,
    attempts: Attempt[],
    source: AsyncIterable<ChatChunk>,
    settlement: { finish(usage: Usage, servedModel: string, failure: ProviderFailure | null): void },
    model: string,
    promptTokens: number,
    metadata: Record<string, unknown> | undefined,
    billedOut: { usage: Usage },
    /** Given when text is stored: the request, whose prompt is stored with what was streamed. */
    storedBody?: ChatBody,
  ): AsyncGenerator<ChatChunk, void, undefined> {
    const streamed = storedBody && new StreamedText();
    let usage: Usage | undefined;
    let servedModel = model;
    let completionChars = 0;
    let failure: ProviderFailure | null = null;
    let ended = false;
    try {
      for await (const chunk of source) {
        if (chunk.model) servedModel = chunk.model;
        if (chunk.usage) usage = chunk.usage;
        for (const choice of chunk.choices) {
          completionChars += choice.delta.content?.length ?? 0;
          for (const t of choice.delta.tool_calls ?? []) completionChars += (t.function?.arguments?.length ?? 0) + (t.function?.name?.length ?? 0);
          if (streamed && choice.index === 0) streamed.add(choice.delta);
        }
        yield chunk;
      }
      ended = true;
    } catch (err) {
      failure = err instanceof ProviderFailure ? err : new ProviderFailure("invalid_response");
    } finally {
      // Not ended and no failure: the consumer stopped reading (the client left).
      if (!ended && failure === null) failure = new ProviderFailure("aborted");
      // Without the provider's own count (it comes last), what was streamed is counted at about four characters a token.
      const completion = Math.ceil(completionChars / 4);
      const billed = usage ?? { promptTokens, completionTokens: completion, totalTokens: promptTokens + completion };
      billedOut.usage = billed;
      settlement.finish(billed, servedModel, failure);
      const code: ErrorCode | null = failure !== null && failure.kind !== "aborted" ? (failure.kind === "timeout" ? "PROVIDER_TIMEOUT" : "PROVIDER_ERROR") : null;
      const text = streamed && { prompt: promptText(storedBody!.messages), completion: streamed.text() };
      await this.finish(meta, call, attempts, code, metadata, { stream: true, ...(failure?.kind === "aborted" && { ended: "client_left" }) }, text);
    }
    if (failure !== null && failure.kind !== "aborted") throw markAudited(failureError(failure, call.timeoutMs));
  }

  /**
   * The usage rows and the audit event of a call, committed (grouped with concurrent calls) before
   * it is answered; with them the call's text, when stored, redacted before the transaction starts.
   */
  private async finish(
    meta: RequestMeta,
    call: CallPlan,
    attempts: Attempt[],
    code: ErrorCode | null,
    metadata: Record<string, unknown> | undefined,
    extra?: Record<string, unknown>,
    text?: CallText,
  ): Promise<void> {
    const served = attempts.find((a) => a.view.status === "SUCCESS")?.view ?? attempts.at(-1)?.view;
    const redacted = text && { prompt: redactText(text.prompt), completion: text.completion === null ? null : redactText(text.completion) };
    await this.audit.writeGrouped(meta, { action: "invokeModel", targetKind: call.targetKind, outcome: code === null ? "SUCCESS" : failureOutcome(code) }, (at) => {
      for (const a of attempts) a.settle?.();
      this.usage.record(meta, call, attempts, at, redacted);
      return {
        result: undefined,
        targetId: call.targetId,
        workspaceId: call.workspaceId,
        details: {
          routeId: call.routeId,
          virtualKeyId: served?.virtualKeyId ?? null,
          model: served?.model ?? call.targets[0].model,
          attempts: attempts.length,
          ...(code !== null && { code }),
          ...extra,
          ...(metadata !== undefined && { metadata }),
        },
      };
    });
    for (const { view } of attempts) {
      this.metrics.attempt(view.provider, view.model, view.status);
      if (view.errorCode === "RATE_LIMITED") this.metrics.rejected("policy_rate");
      else if (view.errorCode === "BUDGET_EXCEEDED") this.metrics.rejected("budget");
    }
  }

  /** Audits a call refused before any attempt (bad input, unknown target, no permission), and marks the error so. */
  private refused(meta: RequestMeta, ref: CallRef | null, err: unknown): unknown {
    if (!(err instanceof AppError)) return err;
    const kind = ref?.route ? "Route" : ref?.virtualKey ? "VirtualKey" : null;
    this.audit.record({
      organizationId: meta.principal.organizationId,
      actorKind: meta.principal.kind,
      actorId: meta.principal.id,
      action: "invokeModel",
      targetKind: kind,
      targetId: null,
      outcome: failureOutcome(err.code),
      ip: meta.ip,
      userAgent: meta.userAgent,
      requestId: meta.requestId,
      details: { code: err.code },
    });
    return markAudited(err);
  }
}

