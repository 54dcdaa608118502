// The portcullis command. Same configuration as the server; plain words; non-zero on failure.
import { resolve } from "node:path";
import { createInterface } from "node:readline/promises";
import { ConfigError, loadConfig, type Config } from "./config.js";
import { generateApiKey } from "./crypto/api-key-format.js";
import { KeyRingError } from "./crypto/key-ring.js";
import { BackupError, backupDatabase } from "./db/backup.js";
import { DatabaseStartupError } from "./db/client.js";
import { newId } from "./ids.js";
import { createLogger } from "./logger.js";
import type { RemovedKind } from "./modules/retention/retention.service.js";
import { buildServer, type PortcullisServer } from "./server.js";
import { jsonLine, printable } from "./printable.js";
import { serve } from "./serve.js";

const USAGE = `Usage: portcullis <command>

  serve                                   start the server (same as npm start)
  generate-key                            print a new API key for PORTCULLIS_BOOTSTRAP_KEY
  create-organization --name N [--json]   create an organization and print its owner API key
  delete-organization ID [--yes]          delete an organization and shred its data key
  rotate-master-key                       re-wrap every data key and the pepper under the newest master key
  verify-audit [ORG]                      verify the audit hash chain of one or every organization
  export-audit ORG                        print an organization's audit events as JSON lines
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
        return await withServer((s) => verifyAudit(s, args));
      case "export-audit":
        return await withServer((s) => exportAudit(s, args));
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
    if (err instanceof ConfigError || err instanceof DatabaseStartupError || err instanceof KeyRingError || err instanceof BackupError) {
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
  // No bootstrap: an owner key made here would be shown nowhere and lost.
  const server = await buildServer(config, { logger: createLogger("warn"), bootstrap: false });
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
  if (value === undefined || value.startsWith("--")) throw new UsageError(`${name} needs a value`);
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
  process.stdout.write(
    `Master key version ${result.activeVersion} is active: re-wrapped ${result.rewrappedDataKeys} data key(s)${result.rewrappedPepper ? " and the API key pepper" : ""}. Older master key versions can now be removed from PORTCULLIS_MASTER_KEYS.\n`,
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
  for (const event of s.services.audit.exportOrganization(id)) process.stdout.write(jsonLine(event) + "\n");
  return 0;
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
