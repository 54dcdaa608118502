// The portcullis command. Same configuration as the server; plain words; non-zero on failure.
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { createInterface as createLineReader } from "node:readline";
import { createInterface } from "node:readline/promises";
import { ConfigError, loadConfig, type Config } from "./config.js";
import { generateApiKey } from "./crypto/api-key-format.js";
import { parseEd25519PublicKey, PublicKeyFormatError, type Ed25519PublicKey } from "./crypto/ed25519.js";
import { KeyRingError } from "./crypto/key-ring.js";
import { BackupError, backupDatabase } from "./db/backup.js";
import { DatabaseStartupError } from "./db/client.js";
import { newId } from "./ids.js";
import { createLogger } from "./logger.js";
import { checkpointLine, ExportFormatError, verifyExport, type ExportReport } from "./modules/audit/audit-export.js";
import type { RemovedKind } from "./modules/retention/retention.service.js";
import { buildServer, type PortcullisServer } from "./server.js";
import { jsonLine, printable } from "./printable.js";
import { serve } from "./serve.js";

const USAGE = `Usage: portcullis <command>

  serve                                   start the server (same as npm start)
  generate-key                            print a new API key for PORTCULLIS_BOOTSTRAP_KEY
  create-organization --name N [--json]   create an organization and print its owner API key
  delete-organization ID [--yes]          delete an organization and shred its data key
  rotate-master-key                       re-wrap every data key, the pepper and the audit signing key under the newest master key
  verify-audit [ORG]                      verify the audit hash chain of one or every organization
  verify-audit --export FILE --public-key K
                                          verify an export offline, its signed checkpoints included
                                          (K: a PEM file, PEM text, or the base64 of the key's SPKI DER)
  export-audit ORG                        print an organization's audit events and checkpoints as JSON lines
  checkpoint-audit [ORG]                  sign the head of one or every audit chain that moved since its last checkpoint
  audit-public-key                        print the public key that checkpoints verify with (PEM)
  backup FILE                             write a consistent copy of the database to FILE, while the server runs
  apply-retention [--dry-run]             remove what is older than PORTCULLIS_RETENTION_DAYS now (--dry-run: only count it)
`;

class UsageError extends Error {}

export async function run(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case "serve":
        await serve();
        return 0;
      case "generate-key":
        process.stdout.write(generateApiKey(newId("ApiKey")).token + "\n");
        return 0;
      case "create-organization":
        return await withServer((s) => createOrganization(s, args));
      case "delete-organization":
        return await withServer((s) => deleteOrganization(s, args));
      case "rotate-master-key":
        return await withServer((s) => rotateMasterKey(s));
      case "verify-audit":
        // Offline: no configuration, database or master key is read.
        if (args.includes("--export")) return await verifyAuditExport(args);
        return await withServer((s) => verifyAudit(s, args));
      case "export-audit":
        return await withServer((s) => exportAudit(s, args));
      case "checkpoint-audit":
        return await withServer((s) => checkpointAudit(s, args));
      case "audit-public-key":
        return await withServer((s) => auditPublicKey(s));
      case "apply-retention":
        return await withServer((s, config) => applyRetention(s, config, args));
      case "backup":
        if (!args[0]) throw new UsageError("backup needs the FILE to write");
        return await withServer((s) => backup(s, args[0]));
      case undefined:
      case "help":
      case "--help":
        process.stdout.write(USAGE);
        return command === undefined ? 1 : 0;
      default:
        throw new UsageError(`Unknown command: ${command}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`portcullis: ${printable(err.message)}\n\n${USAGE}`);
      return 2;
    }
    if (
      err instanceof ConfigError ||
      err instanceof DatabaseStartupError ||
      err instanceof KeyRingError ||
      err instanceof BackupError ||
      err instanceof ExportFormatError
    ) {
      process.stderr.write(`portcullis: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`portcullis: ${(err as Error).message}\n`);
    return 1;
  }
}

/** Opens the database with the server's configuration, without listening. */
async function withServer(fn: (s: PortcullisServer, config: Config) => Promise<number> | number): Promise<number> {
  const config = loadConfig();
  // No bootstrap: an owner key made here would be shown nowhere and lost. Log lines go to stderr,
  // so that what a command prints (an export, the public key) can be redirected to a file whole.
  const server = await buildServer(config, { logger: createLogger("warn", process.stderr), bootstrap: false });
  try {
    return await fn(server, config);
  } finally {
    await server.close();
  }
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i === -1) return undefined;
  const value = args[i + 1];
  // A PEM key given as text starts with dashes too.
  if (value === undefined || (value.startsWith("--") && !value.startsWith("-----BEGIN"))) throw new UsageError(`${name} needs a value`);
  return value;
}

function createOrganization(s: PortcullisServer, args: string[]): number {
  const name = option(args, "--name");
  if (!name) throw new UsageError("create-organization needs --name");
  const created = s.services.organizations.create(name);
  if (args.includes("--json")) {
    process.stdout.write(JSON.stringify({ organizationId: created.organizationId, ownerApiKey: created.ownerApiKey }) + "\n");
  } else {
    process.stdout.write(`Created organization ${created.organizationId}.\nOwner API key (shown once, store it now):\n  ${created.ownerApiKey}\n`);
  }
  return 0;
}

async function deleteOrganization(s: PortcullisServer, args: string[]): Promise<number> {
  const id = args.find((a) => !a.startsWith("--"));
  if (!id) throw new UsageError("delete-organization needs an organization ID");
  const org = s.services.organizations.get(id);
  if (!org) {
    process.stderr.write(`portcullis: no organization ${printable(id)}\n`);
    return 1;
  }
  if (!args.includes("--yes")) {
    if (!process.stdin.isTTY) throw new UsageError("delete-organization asks for confirmation; pass --yes when not at a terminal");
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await rl.question(`Delete organization ${id} (${org.name}) and everything it owns, its secrets unrecoverably? Type its ID to confirm: `);
    rl.close();
    if (answer.trim() !== id) {
      process.stderr.write("Not deleted.\n");
      return 1;
    }
  }
  s.services.organizations.delete(id);
  s.logger.warn({ organizationId: id }, "organization deleted and its data key destroyed");
  process.stdout.write(`Deleted organization ${id}; its data key is destroyed.\n`);
  return 0;
}

function rotateMasterKey(s: PortcullisServer): number {
  const result = s.services.masterKeys.rotateAll((done, total) => process.stderr.write(`re-wrapped ${done}/${total} organization data keys\r`));
  process.stderr.write("\n");
  const rewrapped = [`${result.rewrappedDataKeys} data key(s)`];
  if (result.rewrappedPepper) rewrapped.push("the API key pepper");
  if (result.rewrappedAuditSigningKey) rewrapped.push("the audit signing key");
  const list = rewrapped.length === 1 ? rewrapped[0] : `${rewrapped.slice(0, -1).join(", ")} and ${rewrapped.at(-1)}`;
  process.stdout.write(
    `Master key version ${result.activeVersion} is active: re-wrapped ${list}. Older master key versions can now be removed from PORTCULLIS_MASTER_KEYS.\n`,
  );
  return 0;
}

async function verifyAudit(s: PortcullisServer, args: string[]): Promise<number> {
  const ids = args[0] ? [args[0]] : s.services.organizations.list().map((o) => o.id);
  let broken = 0;
  for (const id of ids) {
    if (!s.services.organizations.get(id)) {
      process.stderr.write(`portcullis: no organization ${printable(id)}\n`);
      return 1;
    }
    const check = await s.services.audit.verifyOrganization(id, undefined, undefined, (n) => process.stderr.write(`${id}: checked ${n} events\r`));
    const start =
      check.anchorHash === null
        ? ""
        : `, from sequence ${check.firstSequence ?? "(none)"}: retention removed ${check.removedEvents} earlier events, anchor ${check.anchorHash}`;
    if (check.valid) process.stdout.write(`${id}: valid, ${check.checkedEvents} events, head ${check.headHash ?? "(empty)"}${start}\n`);
    else {
      broken++;
      process.stdout.write(`${id}: BROKEN at sequence ${check.firstBrokenSequence} (${check.checkedEvents} events checked${start})\n`);
    }
  }
  return broken === 0 ? 0 : 1;
}

function exportAudit(s: PortcullisServer, args: string[]): number {
  const id = args[0];
  if (!id) throw new UsageError("export-audit needs an organization ID");
  if (!s.services.organizations.get(id)) {
    process.stderr.write(`portcullis: no organization ${printable(id)}\n`);
    return 1;
  }
  // Read before the events: every checkpoint then names an event that the lines below hold.
  const checkpoints = s.services.auditCheckpoints.forExport(id);
  for (const event of s.services.audit.exportOrganization(id)) process.stdout.write(jsonLine(event) + "\n");
  for (const checkpoint of checkpoints) process.stdout.write(jsonLine(checkpointLine(checkpoint)) + "\n");
  return 0;
}

function checkpointAudit(s: PortcullisServer, args: string[]): number {
  const ids = args[0] ? [args[0]] : s.services.organizations.list().map((o) => o.id);
  for (const id of ids) {
    if (!s.services.organizations.get(id)) {
      process.stderr.write(`portcullis: no organization ${printable(id)}\n`);
      return 1;
    }
    const signed = s.services.auditCheckpoints.signHead(id);
    process.stdout.write(signed ? `${id}: signed sequence ${signed.sequence}, hash ${signed.hash}\n` : `${id}: unchanged since its last checkpoint\n`);
  }
  return 0;
}

function auditPublicKey(s: PortcullisServer): number {
  const key = s.services.auditCheckpoints.publicKey();
  process.stdout.write(key.pem());
  process.stderr.write(`Ed25519 key ${key.keyId}\n`);
  return 0;
}

/** --public-key takes a file holding the key, or the key itself. */
function readPublicKey(value: string): Ed25519PublicKey {
  const isFile = !value.trimStart().startsWith("-----BEGIN") && existsSync(value) && statSync(value).isFile();
  try {
    return parseEd25519PublicKey(isFile ? readFileSync(value, "utf8") : value);
  } catch (err) {
    if (err instanceof PublicKeyFormatError) throw new UsageError(`--public-key: ${isFile ? `the file ${value}: ` : ""}${err.message}`);
    throw err;
  }
}

async function verifyAuditExport(args: string[]): Promise<number> {
  const file = option(args, "--export");
  const keyText = option(args, "--public-key");
  if (!file || !keyText) throw new UsageError("verify-audit --export FILE needs --public-key K");
  const extra = args.filter((a, i) => !a.startsWith("--") && args[i - 1] !== "--export" && args[i - 1] !== "--public-key");
  if (extra.length > 0) throw new UsageError("verify-audit --export verifies one file and takes no organization ID");
  const publicKey = readPublicKey(keyText);
  const path = resolve(file);
  if (!existsSync(path) || !statSync(path).isFile()) {
    process.stderr.write(`portcullis: cannot read the export ${printable(path)}: ${existsSync(path) ? "not a file" : "no such file"}\n`);
    return 1;
  }
  const lines = () => createLineReader({ input: createReadStream(path, "utf8"), crlfDelay: Infinity });
  let report: ExportReport;
  try {
    report = await verifyExport(lines, publicKey);
  } catch (err) {
    if (err instanceof ExportFormatError) throw new ExportFormatError(`the export ${printable(path)} is not one: ${err.message}`);
    throw err;
  }
  process.stdout.write(describeReport(path, report));
  return report.valid ? 0 : 1;
}

function describeReport(path: string, r: ExportReport): string {
  const out = [`export: ${path}`, `organization: ${r.organizationId ?? "(named by no valid checkpoint)"}`];
  if (r.firstSequence !== null && r.lastSequence !== null) {
    out.push(`events: ${r.checkedEvents} checked, sequences ${r.firstSequence} to ${r.lastSequence}`);
  }
  if (r.anchor) {
    out.push(
      r.anchor.genesis
        ? "anchor: the genesis hash (the export starts at sequence 1)"
        : `anchor: the first event's previousHash ${r.anchor.hash} (the export starts at sequence ${r.firstSequence}: the events before it were removed or left out)` +
            (r.anchor.signed ? `, signed by the checkpoint at sequence ${r.firstSequence! - 1}` : ""),
    );
    out.push(`chain: ${r.chainValid ? "every link and hash matches" : "BROKEN"}`);
  }
  out.push(`checkpoints: ${r.validCheckpoints} valid, key ${r.keyId}${r.checkpointsBefore > 0 ? `; ${r.checkpointsBefore} more name events before the export` : ""}`);
  if (r.lastSigned) out.push(`last signed sequence: ${r.lastSigned.sequence}, signed at ${r.lastSigned.signedAt}`);
  if (r.anchor) out.push(`not covered: ${r.uncoveredEvents} event(s) after the last checkpoint are not covered by a signature`);
  for (const p of r.problems) out.push(`problem: ${p}`);
  out.push(r.valid ? "result: VALID" : `result: INVALID (${r.problems.length} problem${r.problems.length === 1 ? "" : "s"})`);
  // Every string from the file is shown as text, never as a control sequence.
  return out.map(printable).join("\n") + "\n";
}

const KIND_NAMES: Record<RemovedKind, string> = { usageTexts: "usage texts", usageRecords: "usage records", auditEvents: "audit events" };

async function applyRetention(s: PortcullisServer, config: Config, args: string[]): Promise<number> {
  const unknown = args.find((a) => a !== "--dry-run");
  if (unknown !== undefined) throw new UsageError(`apply-retention takes only --dry-run, not ${unknown}`);
  if (config.retentionDays === null) {
    process.stderr.write("portcullis: PORTCULLIS_RETENTION_DAYS is not set: everything is kept, there is nothing to remove\n");
    return 1;
  }
  const dryRun = args.includes("--dry-run");
  const report = await s.services.retention.apply(config.retentionDays, {
    dryRun,
    onProgress: (p) => process.stderr.write(`${p.organizationId}: removed ${p.removed} ${KIND_NAMES[p.kind]} so far\n`),
  });
  const verb = dryRun ? "would remove" : "removed";
  process.stdout.write(`Retention of ${report.days} days: ${verb} what is older than ${report.cutoff.toISOString()}.\n`);
  if (report.organizations.length === 0) process.stdout.write("Nothing is older than that.\n");
  for (const o of report.organizations) {
    const counts = (Object.keys(KIND_NAMES) as RemovedKind[]).map((k) => `${o[k]} ${KIND_NAMES[k]}`).join(", ");
    const chain = o.firstKeptSequence === null ? "" : `; the audit chain ${dryRun ? "would start" : "starts"} at sequence ${o.firstKeptSequence}`;
    process.stdout.write(`${o.organizationId}: ${verb} ${counts}${chain}\n`);
  }
  return 0;
}

async function backup(s: PortcullisServer, file: string): Promise<number> {
  const target = resolve(file);
  let shown = -1;
  const result = await backupDatabase(s.database.sqlite, target, (copied, total) => {
    const percent = total === 0 ? 100 : Math.floor((copied / total) * 100);
    if (percent === shown) return;
    shown = percent;
    process.stderr.write(`copied ${copied} of ${total} pages (${percent}%)\n`);
  });
  process.stderr.write(`backup written to ${printable(target)}: ${result.pages} pages, ${result.bytes} bytes, integrity checked\n`);
  return 0;
}
