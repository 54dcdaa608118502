// invokeModel: resolve the virtual key or route the caller may invoke, gather the policies of
// the call, try its targets (retries, fallback, load balance) with each attempt checked and
// admitted by the policy enforcer, open the provider secret only around the provider call,
// then commit the usage rows and the audit event before answering. Prompts and completions
// pass through and are stored nowhere.
import canonicalize from "canonicalize";
import { and, asc, eq, sql } from "drizzle-orm";
import { performance } from "node:perf_hooks";
import { Permission } from "../../auth/permission.js";
import type { RequestMeta } from "../../context.js";
import type { Db } from "../../db/client.js";
import { routes, routeTargets, usageRecords, virtualKeys } from "../../db/schema.js";
import { AppError, badInput, forbidden, notFound } from "../../errors.js";
import type { AppliedPolicy, PolicyEnforcer } from "../../gateway/enforcement.types.js";
import { costUsd } from "../../gateway/pricing.js";
import { DEFAULT_RETRY_STATUS_CODES, isRetryable, plan, type RandomSource, type Strategy } from "../../gateway/routing.js";
import { isId, newId } from "../../ids.js";
import type { OutboundClient } from "../../net/outbound.js";
import { callProvider } from "../../providers/call.js";
import { ProviderFailure } from "../../providers/errors.js";
import { ADAPTERS } from "../../providers/index.js";
import type { ChatRequest, ChatResult, ProviderName } from "../../providers/types.js";
import { failureOutcome, markAudited } from "../audit/audit-outcome.js";
import type { AuditedWriter } from "../audit/audited-write.js";
import { validateModelName, MAX_REFERENCE_LENGTH } from "../common/slug.js";
import type { SecretBox } from "../virtual-keys/secret-box.js";
import { AttemptStatus, ChatRole } from "./invoke.type.js";

/** Per attempt, when the route sets no timeoutMs (and for direct virtual key calls). */
export const DEFAULT_TIMEOUT_MS = 60_000;
/** What a call is expected to produce when it does not say (Anthropic's required max_tokens default too). */
const DEFAULT_COMPLETION_ESTIMATE = 1024;
const LAST_USED_WRITE_INTERVAL_MS = 60_000;
const MAX_MESSAGES = 1000;
const MAX_STOP_SEQUENCES = 16;
const MAX_METADATA_BYTES = 4096;

export interface InvokeArgs {
  virtualKey?: string | null;
  route?: string | null;
  model?: string | null;
  messages: { role: ChatRole; content: string }[];
  temperature?: number | null;
  maxTokens?: number | null;
  topP?: number | null;
  stop?: string[] | null;
  metadata?: unknown;
}

export interface AttemptView {
  virtualKeyId: string;
  provider: ProviderName;
  model: string;
  status: AttemptStatus;
  httpStatus: number | null;
  latencyMs: number;
  errorCode: string | null;
}

export interface InvokeResultView {
  id: string;
  provider: ProviderName;
  model: string;
  message: { role: ChatRole; content: string | null };
  finishReason: string | null;
  usage: { promptTokens: number; completionTokens: number; totalTokens: number };
  costUsd: number;
  latencyMs: number;
  attempts: AttemptView[];
}

interface TargetKey {
  id: string;
  workspaceId: string | null;
  provider: ProviderName;
}

interface Target {
  key: TargetKey;
  model: string;
  weight: number | null;
}

/** A resolved call: what it goes through, where it belongs, and how it retries. */
interface Call {
  targetKind: "Route" | "VirtualKey";
  targetId: string;
  routeId: string | null;
  workspaceId: string | null;
  strategy: Strategy;
  targets: Target[];
  retries: number;
  onStatusCodes: readonly number[];
  timeoutMs: number;
}

/** One attempt's outcome, with what the usage row needs. */
interface Attempt {
  view: AttemptView;
  result?: ChatResult;
  costUsd: number;
  /** Why it did not succeed, as the client will be told. */
  error?: AppError;
  retryable: boolean;
}

const organizationIdParam = sql.placeholder("organizationId");
const referenceParam = sql.placeholder("reference");

/** The hot path's statements, prepared once: building a query costs more than running it (bench/invoke.ts). */
function prepare(db: Db) {
  const key = { id: virtualKeys.id, workspaceId: virtualKeys.workspaceId, provider: virtualKeys.provider };
  const keyWhere = (column: typeof virtualKeys.id | typeof virtualKeys.slug) => and(eq(virtualKeys.organizationId, organizationIdParam), eq(column, referenceParam));
  const routeWhere = (column: typeof routes.id | typeof routes.slug) => and(eq(routes.organizationId, organizationIdParam), eq(column, referenceParam));
  return {
    keyById: db.select(key).from(virtualKeys).where(keyWhere(virtualKeys.id)).prepare(),
    keyBySlug: db.select(key).from(virtualKeys).where(keyWhere(virtualKeys.slug)).prepare(),
    routeById: db.select().from(routes).where(routeWhere(routes.id)).prepare(),
    routeBySlug: db.select().from(routes).where(routeWhere(routes.slug)).prepare(),
    targetsOf: db
      .select({ ...key, model: routeTargets.model, weight: routeTargets.weight })
      .from(routeTargets)
      .innerJoin(virtualKeys, and(eq(virtualKeys.id, routeTargets.virtualKeyId), eq(virtualKeys.organizationId, organizationIdParam)))
      .where(eq(routeTargets.routeId, sql.placeholder("routeId")))
      .orderBy(asc(routeTargets.position))
      .prepare(),
    // Run inside the call's audited transaction: the same connection, so part of it.
    insertUsage: db
      .insert(usageRecords)
      .values(Object.fromEntries(USAGE_COLUMNS.map((c) => [c, sql.placeholder(c)])) as unknown as typeof usageRecords.$inferInsert)
      .prepare(),
    touchKey: db
      .update(virtualKeys)
      .set({ lastUsedAt: sql.placeholder("at") as unknown as Date })
      .where(and(eq(virtualKeys.organizationId, organizationIdParam), eq(virtualKeys.id, sql.placeholder("virtualKeyId"))))
      .prepare(),
  };
}

const USAGE_COLUMNS = [
  "id",
  "organizationId",
  "workspaceId",
  "requestId",
  "apiKeyId",
  "virtualKeyId",
  "routeId",
  "provider",
  "model",
  "success",
  "promptTokens",
  "completionTokens",
  "costUsd",
  "latencyMs",
  "createdAt",
] as const satisfies readonly (keyof typeof usageRecords.$inferInsert)[];

export class InvokeService {
  private readonly lastUsedWritten = new Map<string, number>();
  private readonly statements;

  constructor(
    db: Db,
    private readonly audit: AuditedWriter,
    private readonly secrets: SecretBox,
    private readonly outbound: OutboundClient,
    private readonly enforcer: PolicyEnforcer,
    private readonly random: RandomSource,
  ) {
    this.statements = prepare(db);
  }

  async invoke(meta: RequestMeta, input: InvokeArgs): Promise<InvokeResultView> {
    const request = checkRequest(input);
    const metadata = checkMetadata(input.metadata);
    const call = this.resolve(meta, input);
    const { principal } = meta;
    const applied = this.enforcer.gather({
      organizationId: principal.organizationId,
      apiKeyId: principal.apiKey?.id ?? null,
      userId: principal.kind === "USER" ? principal.id : (principal.apiKey?.ownerUserId ?? null),
      routeId: call.routeId,
      workspaceId: call.workspaceId,
    });

    const started = performance.now();
    const attempts: Attempt[] = [];
    let unexpected: unknown;
    try {
      targets: for (const target of plan(call.strategy, call.targets, this.random)) {
        const keyPolicies = this.keyPolicies(meta, target);
        for (let n = 0; n <= call.retries; n++) {
          const attempt = await this.attempt(meta, call, target, keyPolicies, applied, request);
          attempts.push(attempt);
          if (attempt.result) break targets;
          // A refusal by policy moves on to the next target; retrying the same one cannot help.
          if (attempt.view.status === AttemptStatus.SKIPPED) continue targets;
          if (!attempt.retryable) break targets;
        }
      }
    } catch (err) {
      unexpected = err;
    }
    const latencyMs = Math.round(performance.now() - started);
    const success = attempts.find((a) => a.result);
    const failure = success || unexpected ? undefined : (attempts.at(-1)?.error ?? new AppError("PROVIDER_ERROR", "No target could be tried"));
    const code = success ? null : unexpected ? "INTERNAL_SERVER_ERROR" : failure!.code;
    const views = attempts.map((a) => a.view);

    const result = this.audit.write(
      meta,
      { action: "invokeModel", targetKind: call.targetKind, outcome: code === null ? "SUCCESS" : failureOutcome(code), cacheNeutral: true },
      (_tx, at) => {
        this.recordUsage(meta, call, attempts, at);
        const served = success?.view;
        return {
          result: success ? this.payload(meta, success, latencyMs, views) : undefined,
          targetId: call.targetId,
          workspaceId: call.workspaceId,
          details: {
            routeId: call.routeId,
            virtualKeyId: served?.virtualKeyId ?? attempts.at(-1)?.view.virtualKeyId ?? null,
            model: served?.model ?? attempts.at(-1)?.view.model ?? call.targets[0].model,
            attempts: attempts.length,
            ...(code !== null && { code }),
            ...(metadata !== undefined && { metadata }),
          },
        };
      },
    );
    if (unexpected) throw markAudited(unexpected instanceof Error ? unexpected : new Error(String(unexpected)));
    if (failure) throw markAudited(failure);
    return result!;
  }

  /** The policies a virtual key brings; a refusal here is a skipped attempt, like any other policy refusal. */
  private keyPolicies(meta: RequestMeta, target: Target): AppliedPolicy[] | AppError {
    try {
      return this.enforcer.forVirtualKey(meta.principal.organizationId, target.key.id);
    } catch (err) {
      if (err instanceof AppError) return err;
      throw err;
    }
  }

  private async attempt(meta: RequestMeta, call: Call, target: Target, keyPolicies: AppliedPolicy[] | AppError, applied: AppliedPolicy[], request: Omit<ChatRequest, "model">): Promise<Attempt> {
    const view = (status: AttemptStatus, latencyMs: number, httpStatus: number | null, errorCode: string | null): AttemptView => ({
      virtualKeyId: target.key.id,
      provider: target.key.provider,
      model: target.model,
      status,
      httpStatus,
      latencyMs,
      errorCode,
    });
    const chat: ChatRequest = { ...request, model: target.model };
    let expected;
    let admission;
    try {
      if (keyPolicies instanceof AppError) throw keyPolicies;
      const all = [...applied, ...keyPolicies];
      this.enforcer.checkModel(all, target.model);
      this.enforcer.checkAddress(all, meta.ip);
      // The reservation counts DEFAULT_COMPLETION_ESTIMATE when the caller names no maxTokens; the
      // provider must be held to it, or its own output cap is spent beyond the budget or token limit.
      if (chat.maxTokens == null && all.some(({ policy }) => policy.budgetLimitUsd !== null || policy.tokensPerMinute !== null)) {
        chat.maxTokens = DEFAULT_COMPLETION_ESTIMATE;
      }
      expected = estimate(chat);
      admission = this.enforcer.admit(all, expected);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      return { view: view(AttemptStatus.SKIPPED, 0, null, err.code), costUsd: 0, error: err, retryable: false };
    }

    const started = performance.now();
    try {
      const result = await this.secrets.openSecret(meta.principal.organizationId, target.key.id, (opened) =>
        callProvider(this.outbound, {
          adapter: ADAPTERS[opened.endpoint.provider],
          endpoint: opened.endpoint,
          secret: opened.secret,
          request: chat,
          timeoutMs: call.timeoutMs,
        }),
      );
      const latencyMs = Math.round(performance.now() - started);
      // The served model may not be the one named (an Azure deployment serves its own whatever the
      // request says): the dearer of the two prices, so that no name makes a call free to budgets.
      const cost = Math.max(
        costUsd(target.model, result.usage.promptTokens, result.usage.completionTokens),
        costUsd(result.model, result.usage.promptTokens, result.usage.completionTokens),
      );
      this.enforcer.settle(admission, { tokens: result.usage.totalTokens, costUsd: cost });
      return { view: view(AttemptStatus.SUCCESS, latencyMs, 200, null), result, costUsd: cost, retryable: false };
    } catch (err) {
      // A provider that timed out or answered 2xx unreadably had the request and may bill it: what was
      // reserved counts as spent. Only a call it refused (or never got) gives the reservation back.
      if (err instanceof ProviderFailure && (err.kind === "timeout" || err.kind === "invalid_response")) {
        this.enforcer.settle(admission, { tokens: expected.tokens, costUsd: expected.costUsd });
      } else {
        this.enforcer.release(admission);
      }
      if (!(err instanceof ProviderFailure)) throw err;
      const latencyMs = Math.round(performance.now() - started);
      const error =
        err.kind === "timeout"
          ? new AppError("PROVIDER_TIMEOUT", `The provider did not answer within ${call.timeoutMs} ms`)
          : new AppError("PROVIDER_ERROR", err.message, err.httpStatus !== null ? { httpStatus: err.httpStatus } : {});
      const status = err.kind === "timeout" ? AttemptStatus.TIMEOUT : AttemptStatus.FAILED;
      return { view: view(status, latencyMs, err.httpStatus, error.code), costUsd: 0, error, retryable: isRetryable(err, call.onStatusCodes) };
    }
  }

  private payload(meta: RequestMeta, success: Attempt, latencyMs: number, attempts: AttemptView[]): InvokeResultView {
    const result = success.result!;
    return {
      id: meta.requestId,
      provider: success.view.provider,
      model: result.model,
      message: { role: ChatRole.ASSISTANT, content: result.content },
      finishReason: result.finishReason,
      usage: result.usage,
      costUsd: success.costUsd,
      latencyMs,
      attempts,
    };
  }

  /** One row per attempt that reached for a provider (skipped ones did not), and the keys' lastUsedAt. */
  private recordUsage(meta: RequestMeta, call: Call, attempts: Attempt[], at: Date): void {
    const organizationId = meta.principal.organizationId;
    for (const a of attempts) {
      if (a.view.status === AttemptStatus.SKIPPED) continue;
      this.statements.insertUsage.run({
        id: newId("UsageRecord"),
        organizationId,
        workspaceId: call.workspaceId,
        requestId: meta.requestId,
        apiKeyId: meta.principal.apiKey?.id ?? null,
        virtualKeyId: a.view.virtualKeyId,
        routeId: call.routeId,
        provider: a.view.provider,
        model: a.view.model,
        success: a.view.status === AttemptStatus.SUCCESS,
        promptTokens: a.result?.usage.promptTokens ?? 0,
        completionTokens: a.result?.usage.completionTokens ?? 0,
        costUsd: a.costUsd,
        latencyMs: a.view.latencyMs,
        createdAt: at,
      });
      const last = this.lastUsedWritten.get(a.view.virtualKeyId) ?? 0;
      if (at.getTime() - last >= LAST_USED_WRITE_INTERVAL_MS) {
        this.lastUsedWritten.set(a.view.virtualKeyId, at.getTime());
        this.statements.touchKey.run({ organizationId, virtualKeyId: a.view.virtualKeyId, at });
      }
    }
  }

  private resolve(meta: RequestMeta, input: InvokeArgs): Call {
    const byKey = input.virtualKey !== null && input.virtualKey !== undefined;
    const byRoute = input.route !== null && input.route !== undefined;
    if (byKey === byRoute) throw badInput("Give exactly one of virtualKey and route", byKey ? "route" : "virtualKey");
    const asked = input.model === null || input.model === undefined ? null : validateModelName(input.model, "model");
    const organizationId = meta.principal.organizationId;
    // The contract: the API key's workspace, else the route's or the virtual key's.
    const keyWorkspace = meta.principal.apiKey?.workspaceId ?? null;

    if (byKey) {
      if (asked === null) throw badInput("model is required when calling through a virtual key", "model");
      const key = this.findKey(organizationId, input.virtualKey!);
      if (!key) throw notFound("VirtualKey");
      this.assertMayInvoke(meta, key.workspaceId, Permission.VIRTUAL_KEY_READ, "VirtualKey");
      return {
        targetKind: "VirtualKey",
        targetId: key.id,
        routeId: null,
        workspaceId: keyWorkspace ?? key.workspaceId,
        strategy: "SINGLE",
        targets: [{ key, model: asked, weight: null }],
        retries: 0,
        onStatusCodes: DEFAULT_RETRY_STATUS_CODES,
        timeoutMs: DEFAULT_TIMEOUT_MS,
      };
    }

    const reference = input.route!;
    const routeLookup = isId(reference, "Route") ? this.statements.routeById : this.statements.routeBySlug;
    const route = reference.length <= MAX_REFERENCE_LENGTH ? routeLookup.get({ organizationId, reference }) : undefined;
    if (!route) throw notFound("Route");
    this.assertMayInvoke(meta, route.workspaceId, Permission.ROUTE_READ, "Route");
    const targets = this.statements.targetsOf.all({ organizationId, routeId: route.id });
    if (targets.length === 0) throw badInput("The route has no targets", "route");
    return {
      targetKind: "Route",
      targetId: route.id,
      routeId: route.id,
      workspaceId: keyWorkspace ?? route.workspaceId,
      strategy: route.strategy,
      targets: targets.map((t, i) => {
        const model = t.model ?? asked;
        if (model === null) throw badInput(`model is required: target ${i} of the route names none`, "model");
        return { key: { id: t.id, workspaceId: t.workspaceId, provider: t.provider }, model, weight: t.weight };
      }),
      retries: route.retryAttempts ?? 0,
      onStatusCodes: route.retryOnStatusCodes ?? DEFAULT_RETRY_STATUS_CODES,
      timeoutMs: route.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    };
  }

  private findKey(organizationId: string, reference: string): TargetKey | undefined {
    if (reference.length > MAX_REFERENCE_LENGTH) return undefined;
    return (isId(reference, "VirtualKey") ? this.statements.keyById : this.statements.keyBySlug).get({ organizationId, reference });
  }

  /**
   * MODEL_INVOKE where the route or key lives, and, for an API key of a workspace, only routes
   * and keys of that workspace or organization-wide ones. What the caller may read but not
   * invoke is FORBIDDEN; what it cannot even read does not exist for it (NOT_FOUND).
   */
  private assertMayInvoke(meta: RequestMeta, workspaceId: string | null, read: Permission, kind: "Route" | "VirtualKey"): void {
    const { access, apiKey } = meta.principal;
    const outsideKeyWorkspace = !!apiKey?.workspaceId && workspaceId !== null && workspaceId !== apiKey.workspaceId;
    if (!outsideKeyWorkspace && access.has(Permission.MODEL_INVOKE, workspaceId)) return;
    if (!access.has(read, workspaceId)) throw notFound(kind);
    const what = kind === "Route" ? "route" : "virtual key";
    throw forbidden(
      outsideKeyWorkspace
        ? `An API key of a workspace may invoke only a ${what} of its own workspace or an organization-wide one`
        : `Invoking this ${what} needs MODEL_INVOKE where it lives`,
    );
  }
}

function checkRange(value: number | null | undefined, min: number, max: number, field: string): number | null {
  if (value === null || value === undefined) return null;
  if (!Number.isFinite(value) || value < min || value > max) throw badInput(`${field} must be between ${min} and ${max}`, field);
  return value;
}

function checkRequest(input: InvokeArgs): Omit<ChatRequest, "model"> {
  if (input.messages.length === 0) throw badInput("messages must not be empty", "messages");
  if (input.messages.length > MAX_MESSAGES) throw badInput(`messages may hold at most ${MAX_MESSAGES} entries`, "messages");
  if (input.maxTokens !== null && input.maxTokens !== undefined && (!Number.isInteger(input.maxTokens) || input.maxTokens < 1)) {
    throw badInput("maxTokens must be a positive integer", "maxTokens");
  }
  const stop = input.stop ?? null;
  if (stop && stop.length > MAX_STOP_SEQUENCES) throw badInput(`stop may hold at most ${MAX_STOP_SEQUENCES} sequences`, "stop");
  return {
    messages: input.messages.map((m) => ({ role: m.role, content: m.content })),
    temperature: checkRange(input.temperature, 0, 2, "temperature"),
    maxTokens: input.maxTokens ?? null,
    topP: checkRange(input.topP, 0, 1, "topP"),
    stop,
  };
}

/** metadata is kept with the audit event, bounded; it decides nothing. */
function checkMetadata(metadata: unknown): unknown {
  if (metadata === null || metadata === undefined) return undefined;
  if (typeof metadata !== "object" || Array.isArray(metadata)) throw badInput("metadata must be a JSON object", "metadata");
  let canonical: string;
  try {
    // RFC 8785 has no form for numbers JSON.parse turned into Infinity (1e400).
    canonical = canonicalize(metadata) ?? "";
  } catch {
    throw badInput("metadata must hold only finite numbers", "metadata");
  }
  if (Buffer.byteLength(canonical, "utf8") > MAX_METADATA_BYTES) throw badInput(`metadata must be at most ${MAX_METADATA_BYTES} bytes as JSON`, "metadata");
  return metadata;
}

/** What an attempt may consume, reserved before it: the prompt at about four characters a token, and the completion asked for. */
function estimate(request: ChatRequest): { requests: number; tokens: number; costUsd: number } {
  const chars = request.messages.reduce((n, m) => n + m.content.length, 0);
  const prompt = Math.ceil(chars / 4);
  const completion = request.maxTokens ?? DEFAULT_COMPLETION_ESTIMATE;
  return { requests: 1, tokens: prompt + completion, costUsd: costUsd(request.model, prompt, completion) };
}
