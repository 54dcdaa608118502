// Writes the usage rows of a model call: one per attempt that reached for a provider (skipped
// ones did not), and the virtual keys' lastUsedAt at most once a minute. Runs inside the call's
// audited write, so that usage and the audit event commit together.
import { and, eq, sql } from "drizzle-orm";
import type { RequestMeta } from "../../context.js";
import type { Db } from "../../db/client.js";
import { usageRecords, virtualKeys } from "../../db/schema.js";
import type { Attempt, CallPlan } from "../../gateway/attempts.js";
import { newId } from "../../ids.js";

const LAST_USED_WRITE_INTERVAL_MS = 60_000;

const COLUMNS = [
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

export class UsageRecorder {
  private readonly lastUsedWritten = new Map<string, number>();
  private readonly insert;
  private readonly touch;

  constructor(db: Db) {
    this.insert = db
      .insert(usageRecords)
      .values(Object.fromEntries(COLUMNS.map((c) => [c, sql.placeholder(c)])) as unknown as typeof usageRecords.$inferInsert)
      .prepare();
    this.touch = db
      .update(virtualKeys)
      .set({ lastUsedAt: sql.placeholder("at") as unknown as Date })
      .where(and(eq(virtualKeys.organizationId, sql.placeholder("organizationId")), eq(virtualKeys.id, sql.placeholder("virtualKeyId"))))
      .prepare();
  }

  record(meta: RequestMeta, call: CallPlan, attempts: readonly Attempt[], at: Date): void {
    const organizationId = meta.principal.organizationId;
    for (const a of attempts) {
      if (a.view.status === "SKIPPED") continue;
      this.insert.run({
        id: newId("UsageRecord"),
        organizationId,
        workspaceId: call.workspaceId,
        requestId: meta.requestId,
        apiKeyId: meta.principal.apiKey?.id ?? null,
        virtualKeyId: a.view.virtualKeyId,
        routeId: call.routeId,
        provider: a.view.provider,
        model: a.view.model,
        success: a.view.status === "SUCCESS",
        promptTokens: a.usage?.promptTokens ?? 0,
        completionTokens: a.usage?.completionTokens ?? 0,
        costUsd: a.costUsd,
        latencyMs: a.view.latencyMs,
        createdAt: at,
      });
      const last = this.lastUsedWritten.get(a.view.virtualKeyId) ?? 0;
      if (at.getTime() - last >= LAST_USED_WRITE_INTERVAL_MS) {
        this.lastUsedWritten.set(a.view.virtualKeyId, at.getTime());
        this.touch.run({ organizationId, virtualKeyId: a.view.virtualKeyId, at });
      }
    }
  }
}
