// Enforces the policies of a model call: which apply (gather, forVirtualKey), whether the model
// and the caller's address are allowed, and admission against rate limits and budgets, all or
// nothing, with the reservation settled or released after the call.
//
// What the caller passes as the Estimate: requests is 1 per attempt; tokens is what the attempt
// may consume at most (prompt tokens as counted or estimated, plus maxTokens or the model's
// output cap); costUsd is those tokens at the model's prices. Over-estimating only holds back
// budget until settle(); under-estimating lets concurrent calls overrun a budget by the
// difference. Every admission must be settled (the call was made) or released (it was not).
import type Database from "better-sqlite3";
import { and, asc, eq, sql } from "drizzle-orm";
import type { Clock } from "../clock.js";
import type { Db } from "../db/client.js";
import { policies, policyAttachments } from "../db/schema.js";
import { AppError } from "../errors.js";
import { AddressRanges, parseCallerAddress } from "./address-ranges.js";
import { periodStart } from "./budget-period.js";
import { SqliteBudgetStore, type BudgetReservation, type BudgetStore } from "./budget-store.js";
import { ChangeMark, MarkedCache } from "../db/change-mark.js";
import type { GroupCommit } from "../db/group-commit.js";
import { MemoryCounterStore, type CounterStore } from "./counter-store.js";
import type { Actual, Admission, AppliedPolicy, CallTargets, Estimate, PolicyEnforcer as PolicyEnforcerContract, PolicyRow } from "./enforcement.types.js";
import { ModelRules } from "./model-glob.js";
import { RateLimiter, type Consumption } from "./rate-limiter.js";

const MAX_CACHED_TARGETS = 10_000;

export interface PolicyEnforcerOptions {
  /** Rate-limit counts; in memory unless several nodes must share them. */
  counters?: CounterStore;
  /** Budget counters; budget_counters on this database by default. */
  budgets?: BudgetStore;
  /** Shared with other caches on the same connection, so that their own counter writes do not empty each other. */
  changeMark?: ChangeMark;
  /** The connection's grouped transactions, which admitGrouped's reservations join. */
  group?: GroupCommit;
}

/** A policy's checks, compiled once per row read. */
interface CompiledPolicy {
  models: ModelRules | null;
  addresses: AddressRanges | null;
}

interface OpenAdmission {
  tokens: Consumption[];
  reservations: BudgetReservation[];
}

interface PendingAdmission extends OpenAdmission {
  /** Every rate-limit consumption made, to be given back should the admission be refused. */
  counted: Consumption[];
}

const NOTHING_ADMITTED: Admission = Object.freeze({ id: "" });

export class PolicyEnforcer implements PolicyEnforcerContract {
  private readonly byTarget;
  private readonly mark: ChangeMark;
  private readonly limiter: RateLimiter;
  private readonly budgets: BudgetStore;
  private readonly group: GroupCommit | undefined;
  private readonly cache: MarkedCache<AppliedPolicy[]>;
  private readonly compiled = new WeakMap<PolicyRow, CompiledPolicy>();
  private readonly open = new Map<string, OpenAdmission>();
  private admissions = 0;

  constructor(
    db: Db,
    private readonly clock: Clock,
    options: PolicyEnforcerOptions = {},
  ) {
    // drizzle's better-sqlite3 database always carries its connection as $client.
    const sqlite = (db as Db & { $client: Database.Database }).$client;
    this.mark = options.changeMark ?? new ChangeMark(sqlite);
    this.cache = new MarkedCache(this.mark, MAX_CACHED_TARGETS);
    this.limiter = new RateLimiter(options.counters ?? new MemoryCounterStore());
    this.budgets = options.budgets ?? new SqliteBudgetStore(sqlite);
    this.group = options.group;
    // The organization is in the query: an ID of another organization finds nothing.
    this.byTarget = db
      .select({ policy: policies })
      .from(policyAttachments)
      .innerJoin(policies, and(eq(policies.id, policyAttachments.policyId), eq(policies.organizationId, policyAttachments.organizationId)))
      .where(and(eq(policyAttachments.organizationId, sql.placeholder("organizationId")), eq(policyAttachments.targetId, sql.placeholder("targetId"))))
      .orderBy(asc(policies.createdAt), asc(policies.id))
      .prepare();
  }

  /**
   * Policies attached to the calling API key, the route and the call's workspace, in that order.
   * People carry no attachments (attachPolicy targets keys, routes and workspaces; a person's
   * keys carry their own), so userId brings none.
   */
  gather(targets: CallTargets): AppliedPolicy[] {
    const applied: AppliedPolicy[] = [];
    for (const targetId of [targets.apiKeyId, targets.routeId, targets.workspaceId]) {
      if (targetId !== null) applied.push(...this.attachedTo(targets.organizationId, targetId));
    }
    return applied;
  }

  forVirtualKey(organizationId: string, virtualKeyId: string): AppliedPolicy[] {
    return this.attachedTo(organizationId, virtualKeyId).slice();
  }

  checkModel(applied: AppliedPolicy[], model: string): void {
    let lowered: string | undefined;
    for (const { policy } of applied) {
      const { models } = this.compile(policy);
      if (models === null) continue;
      lowered ??= model.toLowerCase();
      // The model is the caller's input: the message names the policy, never the model.
      if (!models.allows(model, lowered)) throw new AppError("MODEL_NOT_ALLOWED", `The model is not allowed by policy ${policy.id}`);
    }
  }

  checkAddress(applied: AppliedPolicy[], ip: string | null): void {
    let address: ReturnType<typeof parseCallerAddress> | null = null;
    for (const { policy } of applied) {
      const { addresses } = this.compile(policy);
      if (addresses === null) continue;
      if (address === null) address = parseCallerAddress(ip);
      if (address === undefined) throw new AppError("FORBIDDEN", `The caller's address is unknown and policy ${policy.id} allows only some addresses`);
      if (!addresses.contains(address)) throw new AppError("FORBIDDEN", `The caller's address is not allowed by policy ${policy.id}`);
    }
  }

  admit(applied: AppliedPolicy[], estimate: Estimate): Admission {
    const pending = this.count(applied, estimate);
    if (pending === null) return NOTHING_ADMITTED;
    return this.reserved(pending, this.reserveAlone(pending));
  }

  /**
   * admit, with the budget reservation made in the next grouped transaction, beside the
   * reservations and usage rows of concurrent calls: one commit serves them all. The provider
   * call starts only once it has committed.
   */
  async admitGrouped(applied: AppliedPolicy[], estimate: Estimate): Promise<Admission> {
    const pending = this.count(applied, estimate);
    if (pending === null) return NOTHING_ADMITTED;
    if (!this.group || pending.reservations.length === 0) return this.reserved(pending, this.reserveAlone(pending));
    let refused: number;
    try {
      // Inside the group's transaction the store's own becomes a savepoint: a refusal undoes only this call's.
      refused = await this.group.run(() => this.budgets.reserve(pending.reservations));
    } catch (err) {
      this.uncount(pending);
      throw err;
    }
    return this.reserved(pending, refused);
  }

  /** Validates the estimate and counts it against the rate limits; null when no policy limits anything. */
  private count(applied: AppliedPolicy[], estimate: Estimate): PendingAdmission | null {
    for (const n of [estimate.requests, estimate.tokens, estimate.costUsd]) {
      if (!Number.isFinite(n) || n < 0) throw new TypeError("An estimate is made of finite, non-negative numbers");
    }
    const limited = this.distinct(applied.filter(({ policy }) => policy.requestsPerMinute !== null || policy.tokensPerMinute !== null || policy.budgetLimitUsd !== null));
    if (limited.length === 0) return null;
    const now = this.clock.now().getTime();
    const pending: PendingAdmission = { counted: [], tokens: [], reservations: [] };
    try {
      for (const { policy, targetId } of limited) {
        const key = `policy\u0000${policy.id}\u0000${targetId}`;
        if (policy.requestsPerMinute !== null) {
          const r = this.limiter.consume(`${key}\u0000requests`, policy.requestsPerMinute, estimate.requests, now);
          if (!r.ok) throw rateLimited(policy.id, "requests", r.retryAfterSeconds);
          pending.counted.push(r.consumption);
        }
        if (policy.tokensPerMinute !== null) {
          const r = this.limiter.consume(`${key}\u0000tokens`, policy.tokensPerMinute, estimate.tokens, now);
          if (!r.ok) throw rateLimited(policy.id, "tokens", r.retryAfterSeconds);
          pending.counted.push(r.consumption);
          pending.tokens.push(r.consumption);
        }
      }
    } catch (err) {
      this.uncount(pending);
      throw err;
    }
    for (const { policy, targetId } of limited) {
      if (policy.budgetLimitUsd === null || policy.budgetPeriod === null) continue;
      pending.reservations.push({ policyId: policy.id, targetId, periodStart: periodStart(policy.budgetPeriod, now), amountUsd: estimate.costUsd, limitUsd: policy.budgetLimitUsd });
    }
    return pending;
  }

  private reserveAlone(pending: PendingAdmission): number {
    try {
      return this.mark.untracked(() => this.budgets.reserve(pending.reservations));
    } catch (err) {
      this.uncount(pending);
      throw err;
    }
  }

  /** Opens the admission, or refuses it when a reservation did not fit. */
  private reserved(pending: PendingAdmission, refused: number): Admission {
    if (refused >= 0) {
      this.uncount(pending);
      throw new AppError("BUDGET_EXCEEDED", `The budget of policy ${pending.reservations[refused].policyId} does not allow this call`);
    }
    const id = `adm${++this.admissions}`;
    this.open.set(id, { tokens: pending.tokens, reservations: pending.reservations });
    return { id };
  }

  /** Nothing of a refused admission stays counted. */
  private uncount(pending: PendingAdmission): void {
    for (const c of pending.counted) this.limiter.adjust(c, -c.amount);
    pending.counted.length = 0;
  }

  settle(admission: Admission, actual: Actual): void {
    if (!Number.isFinite(actual.tokens) || actual.tokens < 0 || !Number.isFinite(actual.costUsd) || actual.costUsd < 0) {
      throw new TypeError("An actual consumption is made of finite, non-negative numbers");
    }
    this.close(admission, actual);
  }

  /** The request stays counted (a call was attempted); its tokens and its budget reservation are given back. */
  release(admission: Admission): void {
    this.close(admission, { tokens: 0, costUsd: 0 });
  }

  /** Admissions neither settled nor released, for tests and metrics. */
  get openAdmissions(): number {
    return this.open.size;
  }

  private close(admission: Admission, actual: Actual): void {
    const record = this.open.get(admission.id);
    if (!record) return;
    // The budget first: should it fail, the admission stays open and can be closed again.
    this.mark.untracked(() =>
      this.budgets.settle(record.reservations.map((r) => ({ policyId: r.policyId, targetId: r.targetId, periodStart: r.periodStart, reservedUsd: r.amountUsd, spentUsd: actual.costUsd }))),
    );
    this.open.delete(admission.id);
    for (const c of record.tokens) this.limiter.adjust(c, actual.tokens - c.amount);
    // Inside a grouped transaction the settlement commits with the group. Should the group roll
    // back, the admission is closed again on its own: else its reservation would be held until
    // its period ends, and the budget would refuse calls it has room for.
    this.group?.onRollback(() => {
      for (const c of record.tokens) this.limiter.adjust(c, c.amount - actual.tokens);
      this.open.set(admission.id, record);
      setImmediate(() => {
        try {
          this.close(admission, actual);
        } catch {
          // The database refuses writes altogether: the admission stays open and its reservation
          // held, which refuses calls rather than letting the budget overrun.
        }
      });
    });
  }

  /** The same policy through the same target counts once, however the caller assembled the list. */
  private distinct(applied: AppliedPolicy[]): AppliedPolicy[] {
    if (applied.length < 2) return applied;
    const seen = new Set<string>();
    return applied.filter(({ policy, targetId }) => {
      const key = `policy\u0000${policy.id}\u0000${targetId}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }

  private attachedTo(organizationId: string, targetId: string): AppliedPolicy[] {
    return this.cache.get(`${organizationId}\u0000${targetId}`, () =>
      this.byTarget.all({ organizationId, targetId }).map(({ policy }) => Object.freeze({ policy: Object.freeze(policy), targetId })),
    )!;
  }

  private compile(policy: PolicyRow): CompiledPolicy {
    let compiled = this.compiled.get(policy);
    if (!compiled) {
      compiled = {
        models: policy.allowedModels === null && policy.deniedModels.length === 0 ? null : new ModelRules(policy.allowedModels, policy.deniedModels),
        addresses: policy.allowedIpRanges === null ? null : new AddressRanges(policy.allowedIpRanges),
      };
      this.compiled.set(policy, compiled);
    }
    return compiled;
  }
}

function rateLimited(policyId: string, what: "requests" | "tokens", retryAfterSeconds: number | null): AppError {
  if (retryAfterSeconds === null) return new AppError("RATE_LIMITED", `The call needs more ${what} than policy ${policyId} allows per minute`);
  return new AppError("RATE_LIMITED", `Too many ${what} per minute under policy ${policyId}`, { retryAfterSeconds });
}
