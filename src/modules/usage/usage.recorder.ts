// Writes the usage rows of a model call: one per attempt that reached for a provider (skipped
// ones did not), and the virtual keys' lastUsedAt at most once a minute. Runs inside the call's
// audited write, so that usage and the audit event commit together.
import type Database from "better-sqlite3";
import type { RequestMeta } from "../../context.js";
import type { Attempt, CallPlan } from "../../gateway/attempts.js";
import { newId } from "../../ids.js";

const LAST_USED_WRITE_INTERVAL_MS = 60_000;

export class UsageRecorder {
  private readonly lastUsedWritten = new Map<string, number>();
  // Plain prepared statements: on every call, drizzle's mapping of each value costs more than the insert.
  private readonly insert: Database.Statement;
  private readonly touch: Database.Statement;

  constructor(sqlite: Database.Database) {
    this.insert = sqlite.prepare(
      `INSERT INTO usage_records (id, organization_id, workspace_id, request_id, api_key_id, virtual_key_id, route_id, provider, model, success, prompt_tokens, completion_tokens, cost_usd, latency_ms, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.touch = sqlite.prepare("UPDATE virtual_keys SET last_used_at = ? WHERE organization_id = ? AND id = ?");
  }

  record(meta: RequestMeta, call: CallPlan, attempts: readonly Attempt[], at: Date): void {
    const organizationId = meta.principal.organizationId;
    for (const a of attempts) {
      if (a.view.status === "SKIPPED") continue;
      this.insert.run(
        newId("UsageRecord"),
        organizationId,
        call.workspaceId,
        meta.requestId,
        meta.principal.apiKey?.id ?? null,
        a.view.virtualKeyId,
        call.routeId,
        a.view.provider,
        a.view.model,
        a.view.status === "SUCCESS" ? 1 : 0,
        a.usage?.promptTokens ?? 0,
        a.usage?.completionTokens ?? 0,
        a.costUsd,
        a.view.latencyMs,
        at.getTime(),
      );
      const last = this.lastUsedWritten.get(a.view.virtualKeyId) ?? 0;
      if (at.getTime() - last >= LAST_USED_WRITE_INTERVAL_MS) {
        this.lastUsedWritten.set(a.view.virtualKeyId, at.getTime());
        this.touch.run(at.getTime(), organizationId, a.view.virtualKeyId);
      }
    }
  }
}
