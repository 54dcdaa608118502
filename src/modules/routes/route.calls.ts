// A call through a route: its targets in order, with the route's retry and timeout settings,
// and the routes a caller may call (for GET /v1/models). Statements prepared once: hot path.
import { and, asc, eq, sql } from "drizzle-orm";
import { Permission } from "../../auth/permission.js";
import type { RequestMeta } from "../../context.js";
import type { Db } from "../../db/client.js";
import { routes, routeTargets, virtualKeys } from "../../db/schema.js";
import { badInput, notFound } from "../../errors.js";
import type { CallPlan } from "../../gateway/attempts.js";
import { DEFAULT_RETRY_STATUS_CODES } from "../../gateway/routing.js";
import { isId } from "../../ids.js";
import { assertMayInvoke, mayInvoke } from "../common/may-invoke.js";
import { MAX_REFERENCE_LENGTH } from "../common/slug.js";
import { DEFAULT_TIMEOUT_MS } from "../virtual-keys/virtual-key.calls.js";

export class RouteCalls {
  private readonly byId;
  private readonly bySlug;
  private readonly targetsOf;
  private readonly all;

  constructor(db: Db) {
    const organizationId = sql.placeholder("organizationId");
    const where = (column: typeof routes.id | typeof routes.slug) => and(eq(routes.organizationId, organizationId), eq(column, sql.placeholder("reference")));
    this.byId = db.select().from(routes).where(where(routes.id)).prepare();
    this.bySlug = db.select().from(routes).where(where(routes.slug)).prepare();
    this.targetsOf = db
      .select({ id: virtualKeys.id, workspaceId: virtualKeys.workspaceId, provider: virtualKeys.provider, model: routeTargets.model, weight: routeTargets.weight })
      .from(routeTargets)
      .innerJoin(virtualKeys, and(eq(virtualKeys.id, routeTargets.virtualKeyId), eq(virtualKeys.organizationId, organizationId)))
      .where(eq(routeTargets.routeId, sql.placeholder("routeId")))
      .orderBy(asc(routeTargets.position))
      .prepare();
    this.all = db.select({ slug: routes.slug, workspaceId: routes.workspaceId, createdAt: routes.createdAt }).from(routes).where(eq(routes.organizationId, organizationId)).prepare();
  }

  /** The plan of a call through the route named by ID or slug; `model` fills targets that name none. */
  plan(meta: RequestMeta, reference: string, model: string | null, keyWorkspace: string | null): CallPlan {
    const organizationId = meta.principal.organizationId;
    const route = reference.length <= MAX_REFERENCE_LENGTH ? (isId(reference, "Route") ? this.byId : this.bySlug).get({ organizationId, reference }) : undefined;
    if (!route) throw notFound("Route");
    assertMayInvoke(meta, route.workspaceId, Permission.ROUTE_READ, "Route");
    const targets = this.targetsOf.all({ organizationId, routeId: route.id });
    if (targets.length === 0) throw badInput("The route has no targets", "route");
    return {
      targetKind: "Route",
      targetId: route.id,
      routeId: route.id,
      workspaceId: keyWorkspace ?? route.workspaceId,
      strategy: route.strategy,
      targets: targets.map((t, i) => {
        const chosen = t.model ?? model;
        if (chosen === null) throw badInput(`model is required: target ${i} of the route names none`, "model");
        return { key: { id: t.id, workspaceId: t.workspaceId, provider: t.provider }, model: chosen, weight: t.weight };
      }),
      retries: route.retryAttempts ?? 0,
      onStatusCodes: route.retryOnStatusCodes ?? DEFAULT_RETRY_STATUS_CODES,
      timeoutMs: route.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    };
  }

  /** The routes the caller may call. */
  invocable(meta: RequestMeta): { slug: string; createdAt: Date }[] {
    return this.all.all({ organizationId: meta.principal.organizationId }).filter((r) => mayInvoke(meta, r.workspaceId));
  }
}
