// The writer's fast hash (its details already canonical) and the verifier's agree, whatever the
// strings hold: every event the writer chains must verify.
import canonicalize from "canonicalize";
import { describe, expect, it } from "vitest";
import { auditEventHash, auditEventHashOfCanonical, GENESIS_HASH, type AuditEventView } from "../../src/modules/audit/audit-chain.js";

const base: AuditEventView = {
  id: "ae_0123456789abcdefghijkl",
  sequence: 42,
  occurredAt: "2026-12-07T12:00:00.000Z",
  actorKind: "API_KEY",
  actorId: "ak_x",
  workspaceId: null,
  action: "invokeModel",
  targetKind: "VirtualKey",
  targetId: "vk_y",
  outcome: "SUCCESS",
  ip: "127.0.0.1",
  userAgent: 'curl/8 "quoted" \u2028 \u00e9 \ud83d\ude00 \\ \n',
  requestId: "req_z",
  details: null,
  previousHash: GENESIS_HASH,
};

describe("auditEventHashOfCanonical", () => {
  const cases: [string, Partial<AuditEventView>][] = [
    ["no details", {}],
    ["nested details with unicode and numbers", { details: { z: 1, a: [1.5, "x\u0000y", { b: null, "é": 1e21 }], m: "\ud83d\ude00" } }],
    ["nulls everywhere", { actorKind: null, actorId: null, ip: null, userAgent: null, requestId: null, targetId: null, targetKind: null, details: { code: "NOT_FOUND" } }],
    ["large sequence", { sequence: 2 ** 53 - 1, workspaceId: "ws_q" }],
  ];
  for (const [name, patch] of cases) {
    it(`matches the verifier's hash: ${name}`, () => {
      const event = { ...base, ...patch };
      const canonicalDetails = event.details === null ? null : canonicalize(event.details)!;
      expect(auditEventHashOfCanonical(event, canonicalDetails)).toBe(auditEventHash(event));
    });
  }
});
