// The audit signing key: sealed under the master key ring, re-wrapped by rotate-master-key, the
// same key afterwards (old checkpoints still verify, new ones are signed with it), and its private
// half found nowhere: not in the database files, a log line, a CLI output or a response.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { masterKey, runCli, type CliResult } from "../harness/cli.js";
import { startServer, type TestServer } from "../harness/server.js";
import { findInDatabaseFiles } from "../secrets/helpers.js";

const dir = mkdtempSync(join(tmpdir(), "portcullis-signing-key-"));
const dataDir = join(dir, "data");
const env = (...versions: number[]) => ({ PORTCULLIS_DATA_DIR: dataDir, PORTCULLIS_MASTER_KEYS: versions.map(masterKey).join(",") });
const CHECKPOINT = "mutation { checkpointAuditLog { sequence keyId signature } }";

/** Everything the key could leak into: CLI output, responses, logs. */
const outputs: string[] = [];
let needles: Buffer[] = [];

async function cli(args: string[], e: Record<string, string>): Promise<CliResult> {
  const res = await runCli(args, e);
  outputs.push(res.stdout, res.stderr);
  return res;
}

// The owner key of the first start: a restarted test server bootstraps nothing.
let ownerKey: string;

async function graphql(t: TestServer, query: string) {
  const res = await t.client(ownerKey).query(query);
  outputs.push(res.text);
  expect(res.body.errors, res.text).toBeUndefined();
  return res.body.data;
}

/** The private key as the key ring opens it, in every form it could be written: DER, seed, PEM body, JWK, hex. */
function privateKeyNeedles(t: TestServer): Buffer[] {
  const row = t.server.database.sqlite.prepare("SELECT kek_version AS kekVersion, wrapped FROM server_secrets WHERE name = 'audit_signing_key'").get() as { kekVersion: number; wrapped: Buffer };
  const der = t.server.services.keys.keyRing.unwrap(row, "audit_signing_key");
  const seed = der.subarray(16);
  expect(seed).toHaveLength(32);
  return [der, seed].flatMap((b) => [b, Buffer.from(b.toString("base64")), Buffer.from(b.toString("base64url")), Buffer.from(b.toString("hex"))]);
}

function expectNowhere(t: TestServer) {
  expect(findInDatabaseFiles(dataDir, needles)).toEqual([]);
  const text = Buffer.from(outputs.join("\n") + t.logs.join("\n"));
  for (const needle of needles) expect(text.includes(needle), `found ${needle.length} bytes of the private key`).toBe(false);
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the audit signing key", () => {
  it("is sealed, survives a master key rotation unchanged, and never appears in plaintext", async () => {
    // Before: version 1 seals the key; a checkpoint is signed with it.
    const before = await startServer({ dataDir, env: env(1) });
    let keyBefore: string;
    let signedBefore: { sequence: number; keyId: string };
    try {
      ownerKey = before.ownerKey;
      needles = privateKeyNeedles(before);
      signedBefore = (await graphql(before, CHECKPOINT)).checkpointAuditLog;
      keyBefore = (await graphql(before, "{ auditSigningKey { keyId publicKey } }")).auditSigningKey.publicKey;
      const printed = await cli(["audit-public-key"], env(1));
      expect(printed.code, printed.stderr).toBe(0);
      expect(printed.stdout).toBe(keyBefore);
      expect(printed.stderr).toBe(`Ed25519 key ${signedBefore.keyId}\n`);
      expectNowhere(before);
    } finally {
      await before.close();
    }

    const rotated = await cli(["rotate-master-key"], env(1, 2));
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toContain("re-wrapped 1 data key(s), the API key pepper and the audit signing key.");

    // After: version 1 is gone. The server starts only because the key was re-sealed under version 2.
    const after = await startServer({ dataDir, env: env(2) });
    try {
      const wrapped = after.server.database.sqlite.prepare("SELECT kek_version AS v FROM server_secrets WHERE name = 'audit_signing_key'").get() as { v: number };
      expect(wrapped.v).toBe(2);
      expect(privateKeyNeedles(after)).toEqual(needles);
      await graphql(after, `mutation { createWorkspace(input: {name: "after rotation"}) { id } }`);
      const signedAfter = (await graphql(after, CHECKPOINT)).checkpointAuditLog;
      expect(signedAfter.keyId).toBe(signedBefore!.keyId);
      expect((await cli(["audit-public-key"], env(2))).stdout).toBe(keyBefore!);
      const exported = await cli(["export-audit", after.organizationId], env(2));
      expect(exported.code, exported.stderr).toBe(0);
      const exportFile = join(dir, "export.jsonl");
      const keyFile = join(dir, "key.pem");
      writeFileSync(exportFile, exported.stdout);
      writeFileSync(keyFile, keyBefore!);
      const verified = await cli(["verify-audit", "--export", exportFile, "--public-key", keyFile], {});
      expect(verified.code, verified.stdout + verified.stderr).toBe(0);
      expect(verified.stdout).toContain("checkpoints: 2 valid");
      expect(verified.stdout).toContain(`last signed sequence: ${signedAfter.sequence}`);
      expect(verified.stdout).toContain("not covered: 0 event(s)");
      const other = await cli(["checkpoint-audit"], env(2));
      expect(other.code, other.stderr).toBe(0);
      expectNowhere(after);
    } finally {
      await after.close();
    }
    // And once everything has stopped, in the files left behind.
    expect(findInDatabaseFiles(dataDir, needles)).toEqual([]);
  });
});
