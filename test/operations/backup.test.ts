// portcullis backup FILE: a consistent copy taken while the server serves, with progress on
// stderr, that a server started on it serves as the original did (keys, secrets, audit chain).
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../harness/cli.js";
import { startServer, TEST_MASTER_KEY, type TestServer } from "../harness/server.js";

const dir = mkdtempSync(join(tmpdir(), "portcullis-backup-"));
const dataDir = join(dir, "data");
let t: TestServer;
const env = { PORTCULLIS_DATA_DIR: dataDir, PORTCULLIS_MASTER_KEYS: TEST_MASTER_KEY };
const VERIFY = "{ verifyAuditLog { valid checkedEvents headHash } }";

beforeAll(async () => {
  t = await startServer({ dataDir });
  const owner = t.client(t.ownerKey);
  for (let i = 0; i < 20; i++) await owner.data("mutation($n: String!) { createWorkspace(input: {name: $n}) { id } }", { n: `backup ${i}` });
});
afterAll(async () => {
  await t.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("portcullis backup", () => {
  it("copies the database online, with progress, and the copy serves the same data", async () => {
    const file = join(dir, "copy.db");
    // Writes go on while the backup runs.
    const owner = t.client(t.ownerKey);
    const writes = Promise.all(Array.from({ length: 10 }, (_, i) => owner.data("mutation($n: String!) { createWorkspace(input: {name: $n}) { id } }", { n: `during ${i}` })));
    const res = await runCli(["backup", file], env);
    await writes;
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/copied \d+ of \d+ pages \(100%\)/);
    expect(res.stderr).toMatch(new RegExp(`backup written to ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: \\d+ pages, \\d+ bytes, integrity checked`));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(res.stdout + res.stderr).not.toContain(TEST_MASTER_KEY.split(":")[1]);

    // Restore: the copy as the database of a fresh data directory.
    const restored = join(dir, "restored");
    mkdirSync(restored);
    copyFileSync(file, join(restored, "portcullis.db"));
    const again = await startServer({ dataDir: restored });
    try {
      // The original owner key (its hash and the pepper came along) works on the copy.
      const verified = (await again.client(t.ownerKey).data(VERIFY)).verifyAuditLog;
      expect(verified.valid).toBe(true);
      expect(verified.checkedEvents).toBeGreaterThanOrEqual(21);
      const names = (await again.client(t.ownerKey).data("{ workspaces(first: 100) { nodes { name } } }")).workspaces.nodes.map((n: { name: string }) => n.name);
      expect(names).toEqual(expect.arrayContaining(Array.from({ length: 20 }, (_, i) => `backup ${i}`)));
    } finally {
      await again.stop();
    }
  });

  it("never overwrites a file, and says what is wrong", async () => {
    const existing = join(dir, "existing.db");
    writeFileSync(existing, "keep me");
    const res = await runCli(["backup", existing], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/already exists; a backup never overwrites a file/);
    expect(existsSync(existing) && statSync(existing).size).toBe(7);

    const missing = await runCli(["backup"], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/backup needs the FILE to write/);

    const nowhere = await runCli(["backup", join(dir, "no-such-dir", "copy.db")], env);
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toMatch(/^portcullis: /);
    expect(existsSync(join(dir, "no-such-dir"))).toBe(false);
  });
});
