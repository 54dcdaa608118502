// The export format of `portcullis export-audit`, and its verification offline (no database, no
// master key): JSON lines, first every event exactly as the API returns it, then one line per
// checkpoint, {"checkpoint": {...}}. An event line never has a "checkpoint" field, so a reader
// that wants the events alone skips the lines that have one.
import { z } from "zod";
import type { Ed25519PublicKey } from "../../crypto/ed25519.js";
import { GENESIS_HASH, verifyChain, type AuditEventView } from "./audit-chain.js";
import type { AuditCheckpointView } from "./audit-checkpoint.service.js";
import { checkpointMessage, type CheckpointStatement } from "./audit-checkpoint.statement.js";

export function checkpointLine(c: AuditCheckpointView) {
  return { checkpoint: { organizationId: c.organizationId, sequence: c.sequence, hash: c.hash, signedAt: c.signedAt.toISOString(), keyId: c.keyId, signature: c.signature } };
}

const nullableString = z.string().nullable();
const sequence = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

// Strict: a field the hash does not cover must not ride along unnoticed.
const eventLine = z.strictObject({
  id: z.string(),
  sequence,
  occurredAt: z.string(),
  actorKind: z.enum(["USER", "API_KEY"]).nullable(),
  actorId: nullableString,
  workspaceId: nullableString,
  action: z.string(),
  targetKind: nullableString,
  targetId: nullableString,
  outcome: z.enum(["SUCCESS", "DENIED", "FAILURE"]),
  ip: nullableString,
  userAgent: nullableString,
  requestId: nullableString,
  details: z.unknown(),
  previousHash: z.string(),
  hash: z.string(),
});

const checkpointLineSchema = z.strictObject({
  checkpoint: z.strictObject({
    organizationId: z.string(),
    sequence,
    hash: z.string(),
    signedAt: z.string(),
    keyId: z.string(),
    signature: z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, "must be base64"),
  }),
});

type ExportedEvent = AuditEventView & { hash: string };
type ExportedCheckpoint = CheckpointStatement & { signature: string; line: number };

/** A line that is not part of an export: the file is not one, whatever it proves. */
export class ExportFormatError extends Error {}

function parseLine(text: string, line: number): { event: ExportedEvent } | { checkpoint: ExportedCheckpoint } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ExportFormatError(`line ${line} is not JSON`);
  }
  const isCheckpoint = typeof value === "object" && value !== null && "checkpoint" in value;
  const parsed = (isCheckpoint ? checkpointLineSchema : eventLine).safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length > 0 ? ` (${issue.path.join(".")}: ${issue.message})` : "";
    throw new ExportFormatError(`line ${line} is not ${isCheckpoint ? "a checkpoint" : "an audit event"}${where}`);
  }
  const data = parsed.data as z.infer<typeof eventLine> | z.infer<typeof checkpointLineSchema>;
  return "checkpoint" in data ? { checkpoint: { ...data.checkpoint, line } } : { event: data as ExportedEvent };
}

async function* numbered(lines: AsyncIterable<string>) {
  let n = 0;
  for await (const text of lines) {
    n++;
    if (text.trim() !== "") yield parseLine(text, n);
  }
}

export interface ExportReport {
  valid: boolean;
  /** Each reason the export does not verify, in words. */
  problems: string[];
  organizationId: string | null;
  checkedEvents: number;
  firstSequence: number | null;
  lastSequence: number | null;
  /** The hash the first event follows: the genesis hash, or its previousHash when the export starts later. */
  anchor: { hash: string; genesis: boolean; signed: boolean } | null;
  chainValid: boolean;
  keyId: string;
  /** Checkpoints whose signature verifies and whose (sequence, hash) is an exported event's. */
  validCheckpoints: number;
  /** Checkpoints that verify but name an event before the export's first (and before its anchor). */
  checkpointsBefore: number;
  lastSigned: { sequence: number; signedAt: string } | null;
  /** Events after the last valid checkpoint, which no signature covers. */
  uncoveredEvents: number;
}

/**
 * Verifies an export read twice through lines(): once for the checkpoints, once for the chain,
 * so that memory stays bounded whatever the export's length and its lines' order.
 */
export async function verifyExport(lines: () => AsyncIterable<string>, publicKey: Ed25519PublicKey): Promise<ExportReport> {
  const problems: string[] = [];
  const checkpoints: ExportedCheckpoint[] = [];
  let first: ExportedEvent | undefined;
  let lastSequence: number | null = null;
  for await (const item of numbered(lines())) {
    if ("checkpoint" in item) checkpoints.push(item.checkpoint);
    else {
      first ??= item.event;
      lastSequence = item.event.sequence;
    }
  }

  // Signatures first: a checkpoint that does not verify proves nothing about any event.
  const signed: ExportedCheckpoint[] = [];
  for (const c of checkpoints) {
    const at = `the checkpoint at sequence ${c.sequence} (line ${c.line})`;
    if (c.keyId !== publicKey.keyId) problems.push(`${at} is signed by another key (${c.keyId}, not ${publicKey.keyId})`);
    else if (!publicKey.verify(checkpointMessage(c), Buffer.from(c.signature, "base64"))) problems.push(`${at} has a signature that does not verify with this key`);
    else signed.push(c);
  }
  const organizations = [...new Set(signed.map((c) => c.organizationId))];
  if (organizations.length > 1) problems.push(`the checkpoints name ${organizations.length} organizations: ${organizations.join(", ")}`);

  const report: ExportReport = {
    valid: false,
    problems,
    organizationId: organizations[0] ?? null,
    checkedEvents: 0,
    firstSequence: first?.sequence ?? null,
    lastSequence,
    anchor: null,
    chainValid: false,
    keyId: publicKey.keyId,
    validCheckpoints: 0,
    checkpointsBefore: 0,
    lastSigned: null,
    uncoveredEvents: 0,
  };
  if (!first || lastSequence === null) {
    problems.push("the export holds no audit events");
    return report;
  }

  // An export that starts after sequence 1 (retention removed the events before it) is anchored
  // at its first event's previousHash; a checkpoint of the event before can still vouch for it.
  const genesis = first.sequence === 1;
  const anchorCheckpoint = signed.find((c) => c.sequence === first.sequence - 1);
  if (anchorCheckpoint && anchorCheckpoint.hash !== first.previousHash) {
    problems.push(`the checkpoint at sequence ${anchorCheckpoint.sequence} (line ${anchorCheckpoint.line}) signs hash ${anchorCheckpoint.hash}, but the first event follows ${first.previousHash}`);
  }
  report.anchor = { hash: genesis ? GENESIS_HASH : first.previousHash, genesis, signed: anchorCheckpoint?.hash === first.previousHash };
  report.checkpointsBefore = signed.filter((c) => c.sequence < first.sequence - 1).length;

  const wanted = new Map<number, ExportedCheckpoint[]>();
  for (const c of signed) if (c.sequence >= first.sequence) wanted.set(c.sequence, [...(wanted.get(c.sequence) ?? []), c]);
  const covering: ExportedCheckpoint[] = [];
  async function* events() {
    for await (const item of numbered(lines())) {
      if (!("event" in item)) continue;
      for (const c of wanted.get(item.event.sequence) ?? []) {
        wanted.delete(item.event.sequence);
        if (c.hash === item.event.hash) covering.push(c);
        else problems.push(`the checkpoint at sequence ${c.sequence} (line ${c.line}) signs hash ${c.hash}, but the exported event ${c.sequence} has hash ${item.event.hash}: the events were rewritten`);
      }
      yield item.event;
    }
  }
  const chain = await verifyChain(events(), genesis ? GENESIS_HASH : undefined, first.sequence);
  report.checkedEvents = chain.checkedEvents;
  report.chainValid = chain.valid;
  if (!chain.valid) problems.push(`the chain is broken at sequence ${chain.firstBrokenSequence}: a link or a hash does not match`);
  for (const [seq, cs] of wanted) {
    for (const c of cs) {
      problems.push(
        seq > lastSequence
          ? `the checkpoint at sequence ${seq} (line ${c.line}) names an event after the export's last (${lastSequence}): events are missing from the end`
          : `the checkpoint at sequence ${seq} (line ${c.line}) was not checked: the chain broke before it`,
      );
    }
  }

  report.validCheckpoints = covering.length;
  const last = covering.reduce<ExportedCheckpoint | undefined>((a, c) => (!a || c.sequence > a.sequence ? c : a), undefined);
  if (last) {
    report.lastSigned = { sequence: last.sequence, signedAt: last.signedAt };
    report.uncoveredEvents = lastSequence - last.sequence;
  } else {
    report.uncoveredEvents = chain.checkedEvents;
    problems.push("no valid checkpoint covers an event of the export: it cannot be told apart from a rewritten one");
  }
  report.valid = problems.length === 0;
  return report;
}
