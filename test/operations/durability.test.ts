// SIGKILL in the middle of a stream of mutations and model calls, as a real process: on restart
// every acknowledged write is there, nothing is half-written (each change has its audit event,
// each served call its usage row), and the audit chain verifies.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateApiKey } from "../../src/crypto/api-key-format.js";
import { newId } from "../../src/ids.js";
import { GraphQLClient } from "../harness/client.js";
import { startMockProvider } from "../harness/mock-provider.js";
import { startServer, TEST_MASTER_KEY } from "../harness/server.js";

const CREATE_WS = "mutation($n: String!) { createWorkspace(input: {name: $n}) { id } }";
const CREATE_VK = "mutation($input: CreateVirtualKeyInput!) { createVirtualKey(input: $input) { id slug } }";
const INVOKE = "mutation($input: InvokeModelInput!) { invokeModel(input: $input) { id } }";

function startProcess(dataDir: string, ownerKey: string) {
  const child = spawn(process.execPath, [join(process.cwd(), "dist", "main.js")], {
    cwd: dataDir,
    env: { PATH: process.env.PATH, PORT: "0", PORTCULLIS_DATA_DIR: dataDir, PORTCULLIS_MASTER_KEYS: TEST_MASTER_KEY, PORTCULLIS_BOOTSTRAP_KEY: ownerKey, PORTCULLIS_ALLOW_PRIVATE_NETWORK: "true", PORTCULLIS_LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (c) => (out += c));
  child.stderr.on("data", (c) => (out += c));
  const exited = new Promise<string>((resolve) => child.on("exit", (code, signal) => resolve(String(signal ?? code))));
  const url = new Promise<string>((resolve, reject) => {
    child.stdout.on("data", () => {
      const m = /listening on (http:\/\/[^\s"]+)\/graphql/.exec(out);
      if (m) resolve(m[1]);
    });
    void exited.then(() => reject(new Error(`the server exited: ${out}`)));
  });
  return { child, url, exited };
}

describe("a server killed with SIGKILL", () => {
  it("loses no acknowledged write and leaves none half-written", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "portcullis-kill-"));
    const ownerKey = generateApiKey(newId("ApiKey")).token;
    const mock = await startMockProvider();
    const proc = startProcess(dataDir, ownerKey);
    try {
      const owner = new GraphQLClient(await proc.url, ownerKey);
      const vk = (await owner.data(CREATE_VK, { input: { name: "mock", provider: "OPENAI_COMPATIBLE", secret: `sk-kill-${"k".repeat(30)}`, baseUrl: mock.url } })).createVirtualKey;

      const workspaces: string[] = [];
      const calls: string[] = [];
      let killed = false;
      // Eight writers at once; the kill comes once 60 writes were acknowledged, whatever the time.
      const writer = async (n: number) => {
        for (let i = 0; !killed; i++) {
          try {
            if (i % 2 === 0) workspaces.push((await owner.data(CREATE_WS, { n: `w${n}-${i}` })).createWorkspace.id);
            else calls.push((await owner.data(INVOKE, { input: { virtualKey: vk.slug, model: "gpt-4o-mini", messages: [{ role: "USER", content: "hi" }] } })).invokeModel.id);
          } catch {
            return; // the connection died with the process
          }
          if (workspaces.length + calls.length >= 60 && !killed) {
            killed = true;
            proc.child.kill("SIGKILL");
          }
        }
      };
      await Promise.all(Array.from({ length: 8 }, (_, n) => writer(n)));
      expect(await proc.exited).toBe("SIGKILL");
      expect(workspaces.length + calls.length).toBeGreaterThanOrEqual(60);

      const again = await startServer({ dataDir });
      try {
        const c = again.client(ownerKey);
        const all = (await c.data("{ workspaces(first: 100) { totalCount nodes { id } } }")).workspaces;
        const ids = new Set(all.nodes.map((n: { id: string }) => n.id));
        for (const id of workspaces) expect(ids.has(id), `acknowledged workspace ${id}`).toBe(true);
        // Nothing half-written: every workspace has its event, every served call its usage row and event.
        const db = again.server.database.sqlite;
        const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
        expect(count("SELECT count(*) AS n FROM audit_events WHERE action = 'createWorkspace' AND outcome = 'SUCCESS'")).toBe(all.totalCount);
        const served = count("SELECT count(*) AS n FROM audit_events WHERE action = 'invokeModel' AND outcome = 'SUCCESS'");
        expect(count("SELECT count(*) AS n FROM usage_records WHERE success = 1")).toBe(served);
        expect(served).toBeGreaterThanOrEqual(calls.length);
        const verified = (await c.data("{ verifyAuditLog { valid checkedEvents } }")).verifyAuditLog;
        expect(verified.valid).toBe(true);
        expect(verified.checkedEvents).toBeGreaterThanOrEqual(workspaces.length + calls.length);
      } finally {
        await again.stop();
      }
    } finally {
      proc.child.kill("SIGKILL");
      await mock.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("syncs every commit with PORTCULLIS_SQLITE_SYNCHRONOUS=full; NORMAL is the default; anything else stops start-up", async () => {
    const byDefault = await startServer();
    const full = await startServer({ env: { PORTCULLIS_SQLITE_SYNCHRONOUS: "full" } });
    try {
      expect(byDefault.server.database.sqlite.pragma("synchronous", { simple: true })).toBe(1);
      expect(full.server.database.sqlite.pragma("synchronous", { simple: true })).toBe(2);
      expect((await full.client(full.ownerKey).data(CREATE_WS, { n: "synced" })).createWorkspace.id).toMatch(/^ws_/);
    } finally {
      await byDefault.stop();
      await full.stop();
    }
    await expect(startServer({ env: { PORTCULLIS_SQLITE_SYNCHRONOUS: "off" } })).rejects.toThrow(/PORTCULLIS_SQLITE_SYNCHRONOUS/);
  });
});
