// A call straight through one virtual key: the plan the attempt loop follows, and the keys a
// caller may call (for GET /v1/models). Statements prepared once: this is the hot path.
import { and, eq, sql } from "drizzle-orm";
import { Permission } from "../../auth/permission.js";
import type { RequestMeta } from "../../context.js";
import { MarkedCache, type ChangeMark } from "../../db/change-mark.js";
import type { Db } from "../../db/client.js";
import { virtualKeys } from "../../db/schema.js";
import { notFound } from "../../errors.js";
import type { CallPlan, TargetKey } from "../../gateway/attempts.js";
import { DEFAULT_RETRY_STATUS_CODES } from "../../gateway/routing.js";
import { isId } from "../../ids.js";
import { assertMayInvoke, mayInvoke } from "../common/may-invoke.js";
import { MAX_REFERENCE_LENGTH } from "../common/slug.js";

/** Per attempt, when no route sets a timeout. */
export const DEFAULT_TIMEOUT_MS = 60_000;

const KEY = { id: virtualKeys.id, workspaceId: virtualKeys.workspaceId, provider: virtualKeys.provider };

export class VirtualKeyCalls {
  private readonly byId;
  private readonly bySlug;
  private readonly all;
  /** Keys by reference, valid until the change mark moves (a rename, a new slug, a deletion). */
  private readonly cache: MarkedCache<TargetKey>;

  constructor(db: Db, mark: ChangeMark) {
    this.cache = new MarkedCache(mark);
    const where = (column: typeof virtualKeys.id | typeof virtualKeys.slug) =>
      and(eq(virtualKeys.organizationId, sql.placeholder("organizationId")), eq(column, sql.placeholder("reference")));
    this.byId = db.select(KEY).from(virtualKeys).where(where(virtualKeys.id)).prepare();
    this.bySlug = db.select(KEY).from(virtualKeys).where(where(virtualKeys.slug)).prepare();
    this.all = db
      .select({ ...KEY, slug: virtualKeys.slug, createdAt: virtualKeys.createdAt })
      .from(virtualKeys)
      .where(eq(virtualKeys.organizationId, sql.placeholder("organizationId")))
      .prepare();
  }

  /** The plan of a call through the key named by ID or slug, with the model asked for. */
  plan(meta: RequestMeta, reference: string, model: string, keyWorkspace: string | null): CallPlan {
    const key = this.find(meta.principal.organizationId, reference);
    if (!key) throw notFound("VirtualKey");
    assertMayInvoke(meta, key.workspaceId, Permission.VIRTUAL_KEY_READ, "VirtualKey");
    return {
      targetKind: "VirtualKey",
      targetId: key.id,
      routeId: null,
      // The contract: the API key's workspace, else the virtual key's.
      workspaceId: keyWorkspace ?? key.workspaceId,
      strategy: "SINGLE",
      targets: [{ key, model, weight: null }],
      retries: 0,
      onStatusCodes: DEFAULT_RETRY_STATUS_CODES,
      timeoutMs: DEFAULT_TIMEOUT_MS,
    };
  }

  /** The keys the caller may call. */
  invocable(meta: RequestMeta): { slug: string; provider: string; createdAt: Date }[] {
    return this.all.all({ organizationId: meta.principal.organizationId }).filter((k) => mayInvoke(meta, k.workspaceId));
  }

  private find(organizationId: string, reference: string): TargetKey | undefined {
    if (reference.length > MAX_REFERENCE_LENGTH) return undefined;
    return this.cache.get(`${organizationId}\u0000${reference}`, () => (isId(reference, "VirtualKey") ? this.byId : this.bySlug).get({ organizationId, reference }));
  }
}
