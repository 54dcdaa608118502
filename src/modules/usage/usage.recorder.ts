// Writes the usage rows of a model call: one per attempt that reached for a provider (skipped
// ones did not), and the virtual keys' lastUsedAt at most once a minute. Runs inside the call's
// audited write, so that usage and the audit event commit together. With PORTCULLIS_STORE_TEXT, the
// call's redacted text goes beside the row of the attempt that served it, in the same transaction.
import type Database from "better-sqlite3";
import type { RequestMeta } from "../../context.js";
import type { Attempt, CallPlan } from "../../gateway/attempts.js";
import { newId } from "../../ids.js";
import type { CallText } from "../invoke/call-text.js";

const LAST_USED_WRITE_INTERVAL_MS = 60_000;

export class UsageRecorder {
  private readonly lastUsedWritten = new Map<string, number>();
  // Plain prepared statements: on every call, drizzle's mapping of each value costs more than the insert.
  private readonly insert: Database.Statement;
  private readonly touch: Database.Statement;
  private readonly insertText: Database.Statement;

  constructor(sqlite: Database.Database) {
    this.insert = sqlite.prepare(
      `INSERT INTO usage_records (id, organization_id, workspace_id, request_id, api_key_id, virtual_key_id, route_id, provider, model, success, prompt_tokens, completion_tokens, cost_usd, latency_ms, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.touch = sqlite.prepare("UPDATE virtual_keys SET last_used_at = ? WHERE organization_id = ? AND id = ?");
    this.insertText = sqlite.prepare("INSERT INTO usage_texts (usage_record_id, organization_id, prompt_text, completion_text, created_at) VALUES (?, ?, ?, ?, ?)");
  }

  /** text, already redacted, is given only when storage is on. */
  record(meta: RequestMeta, call: CallPlan, attempts: readonly Attempt[], at: Date, text?: CallText): void {
    const organizationId = meta.principal.organizationId;
    const served = text && (attempts.find((a) => a.view.status === "SUCCESS") ?? attempts.filter((a) => a.view.status !== "SKIPPED").at(-1));
    for (const a of attempts) {
      if (a.view.status === "SKIPPED") continue;
      const id = newId("UsageRecord");
      this.insert.run(
        id,
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
      if (a === served) this.insertText.run(id, organizationId, text!.prompt, text!.completion, at.getTime());
      const last = this.lastUsedWritten.get(a.view.virtualKeyId) ?? 0;
      if (at.getTime() - last >= LAST_USED_WRITE_INTERVAL_MS) {
        this.lastUsedWritten.set(a.view.virtualKeyId, at.getTime());
        this.touch.run(at.getTime(), organizationId, a.view.virtualKeyId);
      }
    }
  }
}
