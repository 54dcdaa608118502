// Routes: how a call reaches providers, as an ordered list of virtual keys of the route's own
// workspace or of the organization. Management only; invokeModel follows them later.
import { and, asc, eq, inArray, type SQL } from "drizzle-orm";
import { Permission } from "../../auth/permission.js";
import type { RequestMeta } from "../../context.js";
import type { Db } from "../../db/client.js";
import { routes, routeTargets, virtualKeys } from "../../db/schema.js";
import type { Queryable } from "../../db/types.js";
import { badInput, conflict, forbidden, notFound } from "../../errors.js";
import { DEFAULT_RETRY_STATUS_CODES } from "../../gateway/routing.js";
import { isId, newId } from "../../ids.js";
import type { AuditedWriter } from "../audit/audited-write.js";
import { type PageArgs, pageOf } from "../common/pagination.js";
import { readableRows } from "../common/read-scope.js";
import { resolveSlug, validateModelName, validateName, MAX_REFERENCE_LENGTH } from "../common/slug.js";
import { VIEW as VIRTUAL_KEY_VIEW, type VirtualKeyView } from "../virtual-keys/virtual-key.service.js";
import type { WorkspaceService } from "../workspaces/workspace.service.js";
import { RoutingStrategy } from "./route.type.js";
import { forgetPolicyTarget } from "../policies/policy.targets.js";

const MAX_TARGETS = 10;
const MAX_WEIGHT = 1_000_000;
const MAX_RETRY_ATTEMPTS = 5;
const MIN_TIMEOUT_MS = 100;
const MAX_TIMEOUT_MS = 300_000;

type RouteRow = typeof routes.$inferSelect;

export interface TargetArgs {
  virtualKey: string;
  model?: string | null;
  weight?: number | null;
}

export interface RetryArgs {
  attempts: number;
  onStatusCodes?: number[] | null;
}

export interface CreateRouteArgs {
  name: string;
  slug?: string | null;
  workspaceId?: string | null;
  strategy: RoutingStrategy;
  targets: TargetArgs[];
  retry?: RetryArgs | null;
  timeoutMs?: number | null;
}

export interface UpdateRouteArgs {
  id: string;
  name?: string | null;
  strategy?: RoutingStrategy | null;
  targets?: TargetArgs[] | null;
  retry?: RetryArgs | null;
  timeoutMs?: number | null;
}

/** A target as stored: the key it names, and what it says about model and weight. */
interface StoredTarget {
  virtualKeyId: string;
  model: string | null;
  weight: number | null;
}

export interface RouteTargetView extends StoredTarget {
  virtualKey: VirtualKeyView;
}

export interface RouteView extends RouteRow {
  targets: RouteTargetView[];
  retry: { attempts: number; onStatusCodes: readonly number[] } | null;
}

/** A target as submitted, checked for shape; its virtual key is resolved inside the write. */
interface CheckedTarget {
  reference: string;
  model: string | null;
  weight: number | null;
}

/**
 * Weights exist only under LOADBALANCE, where an omitted one counts as 1: a weight given
 * under SINGLE or FALLBACK is refused rather than silently ignored.
 */
function checkWeight(strategy: RoutingStrategy, weight: number | null | undefined, field: string): number | null {
  if (strategy !== RoutingStrategy.LOADBALANCE) {
    if (weight !== null && weight !== undefined) throw badInput(`${field} applies only under LOADBALANCE; omit it for ${strategy}`, field);
    return null;
  }
  if (weight === null || weight === undefined) return 1;
  if (!Number.isFinite(weight) || weight <= 0 || weight > MAX_WEIGHT) throw badInput(`${field} must be a positive number of at most ${MAX_WEIGHT}`, field);
  return weight;
}

function checkTargetCount(strategy: RoutingStrategy, n: number): void {
  if (strategy === RoutingStrategy.SINGLE && n !== 1) throw badInput("SINGLE needs exactly one target", "targets");
  if (n === 0) throw badInput(`${strategy} needs at least one target`, "targets");
  if (n > MAX_TARGETS) throw badInput(`A route has at most ${MAX_TARGETS} targets`, "targets");
}

function checkTargets(strategy: RoutingStrategy, targets: TargetArgs[]): CheckedTarget[] {
  checkTargetCount(strategy, targets.length);
  return targets.map((t, i) => ({
    reference: t.virtualKey,
    model: t.model === null || t.model === undefined ? null : validateModelName(t.model, `targets[${i}].model`),
    weight: checkWeight(strategy, t.weight, `targets[${i}].weight`),
  }));
}

function checkRetry(retry: RetryArgs): { attempts: number; onStatusCodes: number[] } {
  if (!Number.isInteger(retry.attempts) || retry.attempts < 0 || retry.attempts > MAX_RETRY_ATTEMPTS) {
    throw badInput(`retry.attempts must be between 0 and ${MAX_RETRY_ATTEMPTS}`, "retry.attempts");
  }
  if (retry.onStatusCodes === null || retry.onStatusCodes === undefined) return { attempts: retry.attempts, onStatusCodes: [...DEFAULT_RETRY_STATUS_CODES] };
  const codes = [...new Set(retry.onStatusCodes)].sort((a, b) => a - b);
  if (codes.length === 0) throw badInput("retry.onStatusCodes must name at least one status code; omit it for the default", "retry.onStatusCodes");
  if (codes.some((c) => !Number.isInteger(c) || c < 400 || c > 599)) throw badInput("retry.onStatusCodes must be HTTP status codes from 400 to 599", "retry.onStatusCodes");
  return { attempts: retry.attempts, onStatusCodes: codes };
}

function checkTimeout(timeoutMs: number): number {
  if (!Number.isInteger(timeoutMs) || timeoutMs < MIN_TIMEOUT_MS || timeoutMs > MAX_TIMEOUT_MS) {
    throw badInput(`timeoutMs must be between ${MIN_TIMEOUT_MS} and ${MAX_TIMEOUT_MS}`, "timeoutMs");
  }
  return timeoutMs;
}

export class RouteService {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditedWriter,
    private readonly workspaces: WorkspaceService,
  ) {}

  /** Routes the caller may read: all with ROUTE_READ organization-wide, else those of its workspaces. */
  private readable(meta: RequestMeta): SQL | undefined {
    return readableRows(meta, Permission.ROUTE_READ, { organizationId: routes.organizationId, workspaceId: routes.workspaceId });
  }

  list(meta: RequestMeta, args: PageArgs) {
    const page = pageOf(this.db, routes, this.readable(meta), args);
    return { ...page, nodes: this.withTargets(this.db, page.nodes) };
  }

  find(meta: RequestMeta, id: string): RouteView | undefined {
    const row = this.db.select().from(routes).where(and(this.readable(meta), eq(routes.id, id))).get();
    return row ? this.withTargets(this.db, [row])[0] : undefined;
  }

  create(meta: RequestMeta, input: CreateRouteArgs): RouteView {
    const organizationId = meta.principal.organizationId;
    const workspaceId = input.workspaceId ?? null;
    this.workspaces.assertMayCreateIn(meta, workspaceId, Permission.ROUTE_WRITE, "route");
    const name = validateName(input.name);
    const slug = resolveSlug(input.slug, name);
    const targets = checkTargets(input.strategy, input.targets);
    const retry = input.retry ? checkRetry(input.retry) : null;
    const timeoutMs = input.timeoutMs === null || input.timeoutMs === undefined ? null : checkTimeout(input.timeoutMs);
    return this.audit.write(meta, { action: "createRoute", targetKind: "Route" }, (tx, at) => {
      // Inside the transaction: a key deleted meanwhile is NOT_FOUND, and cannot be deleted until this commits.
      const stored = this.resolveTargets(tx, meta, targets, workspaceId);
      this.assertSlugFree(tx, organizationId, slug);
      const row: RouteRow = {
        id: newId("Route"),
        organizationId,
        workspaceId,
        name,
        slug,
        strategy: input.strategy,
        retryAttempts: retry?.attempts ?? null,
        retryOnStatusCodes: retry?.onStatusCodes ?? null,
        timeoutMs,
        createdAt: at,
        updatedAt: at,
      };
      tx.insert(routes).values(row).run();
      this.insertTargets(tx, row.id, stored);
      return {
        result: this.withTargets(tx, [row])[0],
        targetId: row.id,
        workspaceId,
        details: { name, slug, strategy: input.strategy, targets: stored, retry, timeoutMs },
      };
    });
  }

  update(meta: RequestMeta, input: UpdateRouteArgs): RouteView {
    const current = this.loadForWrite(meta, input.id, "Changing");
    const name = input.name === null || input.name === undefined ? undefined : validateName(input.name);
    const strategy = input.strategy ?? undefined;
    const effectiveStrategy = (strategy ?? current.strategy) as RoutingStrategy;
    const targets = input.targets === null || input.targets === undefined ? undefined : checkTargets(effectiveStrategy, input.targets);
    const retry = input.retry === null || input.retry === undefined ? undefined : checkRetry(input.retry);
    const timeoutMs = input.timeoutMs === null || input.timeoutMs === undefined ? undefined : checkTimeout(input.timeoutMs);
    return this.audit.write(meta, { action: "updateRoute", targetKind: "Route" }, (tx, at) => {
      const where = and(eq(routes.organizationId, current.organizationId), eq(routes.id, current.id));
      let stored: StoredTarget[] | undefined;
      if (targets) {
        stored = this.resolveTargets(tx, meta, targets, current.workspaceId);
      } else if (strategy && strategy !== current.strategy) {
        // The kept targets must suit the new strategy; their weights follow it (1 under LOADBALANCE, none otherwise).
        const kept = this.storedTargets(tx, current.id);
        checkTargetCount(strategy, kept.length);
        stored = kept.map((t) => ({ ...t, weight: strategy === RoutingStrategy.LOADBALANCE ? (t.weight ?? 1) : null }));
      }
      const changes: Partial<RouteRow> = {
        ...(name !== undefined && { name }),
        ...(strategy !== undefined && { strategy }),
        ...(retry !== undefined && { retryAttempts: retry.attempts, retryOnStatusCodes: retry.onStatusCodes }),
        ...(timeoutMs !== undefined && { timeoutMs }),
      };
      const changed = stored !== undefined || Object.keys(changes).length > 0;
      const row: RouteRow = { ...current, ...changes, updatedAt: changed ? at : current.updatedAt };
      if (tx.update(routes).set({ ...changes, updatedAt: row.updatedAt }).where(where).run().changes === 0) throw notFound("Route");
      if (stored) {
        tx.delete(routeTargets).where(eq(routeTargets.routeId, current.id)).run();
        this.insertTargets(tx, current.id, stored);
      }
      return {
        result: this.withTargets(tx, [row])[0],
        targetId: current.id,
        workspaceId: current.workspaceId,
        // What this update left unchanged is undefined, and canonical JSON leaves it out of the event.
        details: { name, strategy, targets: stored, retry, timeoutMs },
      };
    });
  }

  delete(meta: RequestMeta, id: string): { deletedId: string } {
    const current = this.loadForWrite(meta, id, "Deleting");
    return this.audit.write(meta, { action: "deleteRoute", targetKind: "Route" }, (tx) => {
      forgetPolicyTarget(tx, current.organizationId, id);
      // Its targets go with it (ON DELETE CASCADE).
      tx.delete(routes).where(and(eq(routes.organizationId, current.organizationId), eq(routes.id, id))).run();
      return { result: { deletedId: id }, targetId: id, workspaceId: current.workspaceId, details: { slug: current.slug } };
    });
  }

  /** Rows with their targets (each with its key, which follows the route) and retry policy. */
  private withTargets(q: Queryable, rows: RouteRow[]): RouteView[] {
    if (rows.length === 0) return [];
    const targets = q
      .select({ routeId: routeTargets.routeId, model: routeTargets.model, weight: routeTargets.weight, virtualKey: VIRTUAL_KEY_VIEW })
      .from(routeTargets)
      .innerJoin(virtualKeys, eq(virtualKeys.id, routeTargets.virtualKeyId))
      .where(
        inArray(
          routeTargets.routeId,
          rows.map((r) => r.id),
        ),
      )
      .orderBy(asc(routeTargets.routeId), asc(routeTargets.position))
      .all();
    const byRoute = new Map<string, RouteTargetView[]>();
    for (const t of targets) {
      const list = byRoute.get(t.routeId) ?? [];
      list.push({ virtualKeyId: t.virtualKey.id, virtualKey: t.virtualKey, model: t.model, weight: t.weight });
      byRoute.set(t.routeId, list);
    }
    return rows.map((row) => ({
      ...row,
      targets: byRoute.get(row.id) ?? [],
      retry: row.retryAttempts === null ? null : { attempts: row.retryAttempts, onStatusCodes: row.retryOnStatusCodes ?? DEFAULT_RETRY_STATUS_CODES },
    }));
  }

  private storedTargets(q: Queryable, routeId: string): StoredTarget[] {
    return q
      .select({ virtualKeyId: routeTargets.virtualKeyId, model: routeTargets.model, weight: routeTargets.weight })
      .from(routeTargets)
      .where(eq(routeTargets.routeId, routeId))
      .orderBy(asc(routeTargets.position))
      .all();
  }

  private insertTargets(tx: Queryable, routeId: string, targets: StoredTarget[]): void {
    tx.insert(routeTargets)
      .values(targets.map((t, position) => ({ routeId, position, ...t })))
      .run();
  }

  /**
   * Each reference is a virtual key of the caller's organization, by ID or slug, that the caller
   * may read (else NOT_FOUND), and lives in the organization or in the route's own workspace.
   */
  private resolveTargets(tx: Queryable, meta: RequestMeta, targets: CheckedTarget[], routeWorkspaceId: string | null): StoredTarget[] {
    const organizationId = meta.principal.organizationId;
    return targets.map((t, i) => {
      const byReference = isId(t.reference, "VirtualKey") ? eq(virtualKeys.id, t.reference) : eq(virtualKeys.slug, t.reference);
      const key =
        t.reference.length <= MAX_REFERENCE_LENGTH
          ? tx
              .select({ id: virtualKeys.id, workspaceId: virtualKeys.workspaceId })
              .from(virtualKeys)
              .where(and(eq(virtualKeys.organizationId, organizationId), byReference))
              .get()
          : undefined;
      if (!key || !meta.principal.access.has(Permission.VIRTUAL_KEY_READ, key.workspaceId)) throw notFound(`The virtual key of targets[${i}]`);
      if (key.workspaceId !== null && key.workspaceId !== routeWorkspaceId) {
        throw badInput(
          `targets[${i}]: virtual key ${key.id} belongs to a workspace; a route may target only keys of its own workspace or organization-wide ones`,
          `targets[${i}].virtualKey`,
        );
      }
      return { virtualKeyId: key.id, model: t.model, weight: t.weight };
    });
  }

  /** NOT_FOUND for what the caller cannot see, FORBIDDEN for what it sees but may not change. */
  private loadForWrite(meta: RequestMeta, id: string, doing: string): RouteRow {
    const row = isId(id, "Route")
      ? this.db
          .select()
          .from(routes)
          .where(and(eq(routes.organizationId, meta.principal.organizationId), eq(routes.id, id)))
          .get()
      : undefined;
    if (!row) throw notFound("Route");
    const { access } = meta.principal;
    if (!access.has(Permission.ROUTE_WRITE, row.workspaceId)) {
      if (access.has(Permission.ROUTE_READ, row.workspaceId)) throw forbidden(`${doing} a route needs ROUTE_WRITE where it lives`);
      throw notFound("Route");
    }
    return row;
  }

  private assertSlugFree(tx: Queryable, organizationId: string, slug: string): void {
    const taken = tx
      .select({ id: routes.id })
      .from(routes)
      .where(and(eq(routes.organizationId, organizationId), eq(routes.slug, slug)))
      .get();
    if (taken) throw conflict(`A route with slug ${slug} already exists`);
  }
}
