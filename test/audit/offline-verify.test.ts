// An export verified offline by the compiled CLI, with nothing but the file and the public key;
// then the same export as someone holding the database would rewrite it: hashes recomputed,
// checkpoints kept, re-signed with another key, or removed. Each rewrite is refused.
import canonicalize from "canonicalize";
import { createHash, generateKeyPairSync, sign } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, type CliResult } from "../harness/cli.js";
import { startServer, TEST_MASTER_KEY, type TestServer } from "../harness/server.js";
import { nextTurn } from "../harness/turn.js";

const CREATE_WS = "mutation($n: String!) { createWorkspace(input: {name: $n}) { id } }";
const CHECKPOINT = "mutation { checkpointAuditLog { sequence hash } }";

const dir = mkdtempSync(join(tmpdir(), "portcullis-offline-"));
let t: TestServer;
let env: Record<string, string>;
let exportLines: string[];
let publicKeyFile: string;
let publicKeyPem: string;
const checkpointSequences: number[] = [];

type Line = Record<string, any>;

async function cli(args: string[], extraEnv: Record<string, string> = env): Promise<CliResult> {
  const res = await runCli(args, extraEnv);
  // No outcome, good or bad, shows a stack trace.
  expect(res.stdout + res.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  return res;
}

function write(name: string, lines: (string | Line)[]): string {
  const path = join(dir, name);
  writeFileSync(path, lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n") + "\n");
  return path;
}

/** Verification as an auditor runs it: no data directory, no master key, a production environment. */
function verify(file: string, key = publicKeyFile) {
  return cli(["verify-audit", "--export", file, "--public-key", key], { NODE_ENV: "production", PORTCULLIS_DATA_DIR: join(dir, "no-such-data-dir") });
}

const parsed = () => exportLines.map((l) => JSON.parse(l) as Line);
const events = () => parsed().filter((l) => !("checkpoint" in l));
const checkpoints = () => parsed().filter((l) => "checkpoint" in l);

/** What an attacker holding the database does: edit an event, then recompute every hash after it. */
function rewrite(lines: Line[], sequence: number): Line[] {
  let previous: string | undefined;
  return lines.map((line) => {
    if ("checkpoint" in line) return line;
    const event = { ...line };
    if (event.sequence === sequence) event.action = "nothingToSeeHere";
    if (previous !== undefined) event.previousHash = previous;
    const { hash: _hash, ...body } = event;
    event.hash = createHash("sha256").update(event.previousHash + canonicalize(body), "utf8").digest("hex");
    previous = event.hash;
    return event;
  });
}

/** Checkpoints re-signed over the rewritten events, with a key of the attacker's. */
function resign(lines: Line[], keyIdOf: (attackerKeyId: string) => string) {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const spki = publicKey.export({ format: "der", type: "spki" });
  const attackerKeyId = createHash("sha256").update(spki).digest("hex").slice(0, 32);
  const bySequence = new Map(lines.filter((l) => !("checkpoint" in l)).map((e) => [e.sequence as number, e.hash as string]));
  const resigned = lines.map((line) => {
    if (!("checkpoint" in line)) return line;
    const c = { ...line.checkpoint, hash: bySequence.get(line.checkpoint.sequence), keyId: keyIdOf(attackerKeyId) };
    const statement = { organizationId: c.organizationId, sequence: c.sequence, hash: c.hash, signedAt: c.signedAt, keyId: c.keyId };
    c.signature = sign(null, Buffer.from("portcullis:audit-checkpoint:v1\n" + canonicalize(statement)), privateKey).toString("base64");
    return { checkpoint: c };
  });
  return { lines: resigned, attackerKeyFile: write(`attacker-${attackerKeyId}.pem`, [publicKey.export({ format: "pem", type: "spki" }).toString().trim()]) };
}

beforeAll(async () => {
  t = await startServer({ dataDir: join(dir, "data") });
  env = { PORTCULLIS_DATA_DIR: t.dataDir, PORTCULLIS_MASTER_KEYS: TEST_MASTER_KEY };
  const owner = t.client(t.ownerKey);
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 3; i++) await owner.data(CREATE_WS, { n: `offline ${round} ${i}` });
    checkpointSequences.push((await owner.data(CHECKPOINT)).checkpointAuditLog.sequence);
  }
  // Two events after the last checkpoint: written, not yet signed.
  for (let i = 0; i < 2; i++) await owner.data(CREATE_WS, { n: `unsigned ${i}` });
  await nextTurn();

  const key = await cli(["audit-public-key"]);
  expect(key.code, key.stderr).toBe(0);
  publicKeyPem = key.stdout;
  publicKeyFile = write("audit-key.pem", [publicKeyPem.trim()]);
  const exported = await cli(["export-audit", t.organizationId]);
  expect(exported.code, exported.stderr).toBe(0);
  exportLines = exported.stdout.trimEnd().split("\n");
});
afterAll(async () => {
  await t.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("the export", () => {
  it("holds the events exactly as the API returns them, then one line per checkpoint", async () => {
    const api = (await t.client(t.ownerKey).data(
      "{ auditEvents(first: 100) { nodes { id sequence occurredAt actorKind actorId workspaceId action targetKind targetId outcome ip userAgent requestId details previousHash hash } } }",
    )).auditEvents.nodes;
    const exported = events();
    expect(exported).toEqual(api);
    // Event lines first, in sequence order; a reader of events alone skips lines with "checkpoint".
    expect(parsed().slice(0, exported.length)).toEqual(exported);
    expect(checkpoints().map((c) => Object.keys(c))).toEqual(checkpointSequences.map(() => ["checkpoint"]));
    expect(checkpoints().map((c) => c.checkpoint.sequence)).toEqual(checkpointSequences);
    const key = (await t.client(t.ownerKey).data("{ auditSigningKey { keyId publicKey } }")).auditSigningKey;
    expect(key.publicKey).toBe(publicKeyPem);
    for (const c of checkpoints()) expect(c.checkpoint).toMatchObject({ organizationId: t.organizationId, keyId: key.keyId });
  });
});

describe("verify-audit --export", () => {
  it("verifies the export offline and reports the range, the last signed sequence and what no signature covers", async () => {
    const res = await verify(write("export.jsonl", exportLines));
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const last = events().at(-1)!.sequence;
    expect(res.stdout).toContain(`organization: ${t.organizationId}`);
    expect(res.stdout).toContain(`events: ${last} checked, sequences 1 to ${last}`);
    expect(res.stdout).toContain("anchor: the genesis hash (the export starts at sequence 1)");
    expect(res.stdout).toContain("chain: every link and hash matches");
    expect(res.stdout).toContain(`checkpoints: 3 valid, key ${checkpoints()[0].checkpoint.keyId}`);
    expect(res.stdout).toContain(`last signed sequence: ${checkpointSequences[2]}, signed at ${checkpoints()[2].checkpoint.signedAt}`);
    expect(res.stdout).toContain("not covered: 2 event(s) after the last checkpoint are not covered by a signature");
    expect(res.stdout.trimEnd().split("\n").at(-1)).toBe("result: VALID");
    // Offline really: the data directory it was pointed at was never created.
    expect(existsSync(join(dir, "no-such-data-dir"))).toBe(false);
  });

  it("takes the key as PEM text or as the base64 of its SPKI DER too", async () => {
    const file = write("export-keys.jsonl", exportLines);
    expect((await verify(file, publicKeyPem)).code).toBe(0);
    const base64 = publicKeyPem.split("\n").filter((l) => l && !l.startsWith("-----")).join("");
    expect((await verify(file, base64)).code).toBe(0);
  });

  it("verifies an export that starts after sequence 1 from its first event's previousHash, and says so", async () => {
    const first = checkpointSequences[0] + 1;
    const trimmed = parsed().filter((l) => "checkpoint" in l || l.sequence >= first);
    const res = await verify(write("export-late.jsonl", trimmed));
    expect(res.code, res.stdout).toBe(0);
    const anchor = events().find((e) => e.sequence === first)!.previousHash;
    expect(res.stdout).toContain(`sequences ${first} to `);
    expect(res.stdout).toContain(`anchor: the first event's previousHash ${anchor} (the export starts at sequence ${first}`);
    expect(res.stdout).toContain(`signed by the checkpoint at sequence ${checkpointSequences[0]}`);
    expect(res.stdout).toContain("checkpoints: 2 valid");

    const later = parsed().filter((l) => "checkpoint" in l || l.sequence >= first + 1);
    const res2 = await verify(write("export-later.jsonl", later));
    expect(res2.code, res2.stdout).toBe(0);
    expect(res2.stdout).toContain("; 1 more name events before the export");
    expect(res2.stdout).not.toContain("signed by the checkpoint");
  });

  it("refuses a rewritten chain whose hashes were all recomputed, when the checkpoints are kept", async () => {
    const rewritten = rewrite(parsed(), 3);
    const res = await verify(write("rewritten.jsonl", rewritten));
    expect(res.code).toBe(1);
    expect(res.stdout).toContain("chain: every link and hash matches");
    expect(res.stdout).toMatch(new RegExp(`problem: the checkpoint at sequence ${checkpointSequences[0]} \\(line \\d+\\) signs hash [0-9a-f]{64}, but the exported event ${checkpointSequences[0]} has hash [0-9a-f]{64}: the events were rewritten`));
    // One problem per checkpoint, and none is left to cover an event.
    expect(res.stdout).toContain("result: INVALID (4 problems)");
  });

  it("refuses the rewritten chain with its checkpoint lines removed, and the true one without them too", async () => {
    const stripped = rewrite(parsed(), 3).filter((l) => !("checkpoint" in l));
    const res = await verify(write("stripped.jsonl", stripped));
    expect(res.code).toBe(1);
    expect(res.stdout).toContain("problem: no valid checkpoint covers an event of the export: it cannot be told apart from a rewritten one");
    const honestButBare = await verify(write("bare.jsonl", events()));
    expect(honestButBare.code).toBe(1);
    expect(honestButBare.stdout).toContain("result: INVALID (1 problem)");
  });

  it("refuses checkpoints re-signed by another key, whatever key ID they claim", async () => {
    const rewritten = rewrite(parsed(), 3);
    const asThemselves = resign(rewritten, (attacker) => attacker);
    const res = await verify(write("resigned.jsonl", asThemselves.lines));
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/problem: the checkpoint at sequence \d+ \(line \d+\) is signed by another key \([0-9a-f]{32}, not [0-9a-f]{32}\)/);
    expect(res.stdout).toContain("checkpoints: 0 valid");

    const ourKeyId = checkpoints()[0].checkpoint.keyId;
    const posingAsUs = resign(rewritten, () => ourKeyId);
    const res2 = await verify(write("posing.jsonl", posingAsUs.lines));
    expect(res2.code).toBe(1);
    expect(res2.stdout).toMatch(/has a signature that does not verify with this key/);

    // The forgery is consistent under the attacker's own key: what it proves rests on the key
    // the auditor was given, so the public key must come from the operator, not from the export.
    expect((await verify(write("self-consistent.jsonl", asThemselves.lines), asThemselves.attackerKeyFile)).code).toBe(0);
  });

  it("refuses an export cut short before its last checkpoint, and a checkpoint with an altered field", async () => {
    const cut = parsed().filter((l) => "checkpoint" in l || l.sequence < checkpointSequences[2]);
    const res = await verify(write("cut.jsonl", cut));
    expect(res.code).toBe(1);
    expect(res.stdout).toContain(`problem: the checkpoint at sequence ${checkpointSequences[2]} (line`);
    expect(res.stdout).toContain("names an event after the export's last");

    const lines = parsed();
    const i = lines.findIndex((l) => "checkpoint" in l);
    lines[i] = { checkpoint: { ...lines[i].checkpoint, signedAt: "2020-01-01T00:00:00.000Z" } };
    const res2 = await verify(write("altered.jsonl", lines));
    expect(res2.code).toBe(1);
    expect(res2.stdout).toContain("has a signature that does not verify with this key");
  });

  it("answers bad input with a clear message and a non-zero exit", async () => {
    const missing = await verify(join(dir, "missing.jsonl"));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`portcullis: cannot read the export ${join(dir, "missing.jsonl")}: no such file\n`);

    const malformed = await verify(write("malformed.jsonl", [exportLines[0], "{not json", exportLines[1]]));
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toContain("is not one: line 2 is not JSON");

    const extraField = await verify(write("extra.jsonl", [{ ...events()[0], note: "unhashed" }, ...exportLines.slice(1)]));
    expect(extraField.code).toBe(1);
    expect(extraField.stderr).toContain("line 1 is not an audit event");

    const badSignature = await verify(write("bad-signature.jsonl", [...exportLines, JSON.stringify({ checkpoint: { ...checkpoints()[0].checkpoint, signature: "not base64!" } })]));
    expect(badSignature.code).toBe(1);
    expect(badSignature.stderr).toContain(`line ${exportLines.length + 1} is not a checkpoint (checkpoint.signature: must be base64)`);

    const file = write("export-input.jsonl", exportLines);
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ format: "pem", type: "spki" }).toString();
    const ed = generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    for (const [label, key, message] of [
      ["garbage", "not-a-key", "--public-key: not a public key"],
      ["an RSA key", rsa, "--public-key: not an Ed25519 key (it is rsa)"],
      ["a private key", ed, "--public-key: not a public key"],
      ["a file of garbage", write("garbage.pem", ["hello"]), "--public-key: the file"],
    ] as const) {
      const res = await verify(file, key);
      expect(res.code, label).toBe(2);
      expect(res.stderr, label).toContain(message);
    }
    const noKey = await cli(["verify-audit", "--export", file]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain("verify-audit --export FILE needs --public-key K");
  });
});
