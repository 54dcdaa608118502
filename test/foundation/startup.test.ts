import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, fetch as undiciFetch } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";
import { DatabaseStartupError } from "../../src/db/client.js";
import { MissingMasterKeyError } from "../../src/crypto/key-ring.js";
import { createLogger } from "../../src/logger.js";
import { buildServer } from "../../src/server.js";
import { startServer, TEST_MASTER_KEY } from "../harness/server.js";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "portcullis-start-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("configuration", () => {
  it("lists every bad variable at once, without echoing values", () => {
    try {
      loadConfig({ PORT: "99999", PORTCULLIS_MASTER_KEYS: "v1:sk-secret-value", PORTCULLIS_CORS_ORIGINS: "not a url", PORTCULLIS_TRUSTED_PROXIES: "300.1.1.1", TLS_CERT_FILE: "/x" });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const message = (err as Error).message;
      for (const name of ["PORT", "PORTCULLIS_MASTER_KEYS", "PORTCULLIS_CORS_ORIGINS", "PORTCULLIS_TRUSTED_PROXIES", "TLS_KEY_FILE"]) expect(message).toContain(name);
      expect(message).not.toContain("sk-secret-value");
    }
  });

  it("requires master keys in production", () => {
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrow(/PORTCULLIS_MASTER_KEYS: required/);
    expect(loadConfig({ NODE_ENV: "production", PORTCULLIS_MASTER_KEYS: TEST_MASTER_KEY }).production).toBe(true);
  });

  it("applies the documented defaults", () => {
    expect(loadConfig({})).toMatchObject({ port: 4000, host: "127.0.0.1", dataDir: "./data", allowPrivateNetwork: false, corsOrigins: [], trustedProxies: [], production: false });
  });
});

describe("start-up", () => {
  it("generates a development master key file with mode 0600 and warns", async () => {
    const dataDir = tempDir();
    const lines: string[] = [];
    const server = await buildServer(loadConfig({ PORTCULLIS_DATA_DIR: dataDir }), { logger: createLogger("info", { write: (l: string) => void lines.push(l) }) });
    await server.close();
    expect(statSync(join(dataDir, "master.key")).mode & 0o777).toBe(0o600);
    expect(server.generatedMasterKeyFile).toBe(join(dataDir, "master.key"));
    expect(lines.join("")).toMatch(/development master key/);
    expect(server.bootstrap?.generated).toBe(true);
    expect(lines.join("")).not.toContain(server.bootstrap!.ownerApiKey);
  });

  it("refuses a corrupt database and leaves the file untouched", async () => {
    const dataDir = tempDir();
    const garbage = Buffer.from("this is not a database ".repeat(400));
    writeFileSync(join(dataDir, "portcullis.db"), garbage);
    await expect(buildServer(loadConfig({ PORTCULLIS_DATA_DIR: dataDir, PORTCULLIS_MASTER_KEYS: TEST_MASTER_KEY }), { logger: createLogger("silent") })).rejects.toBeInstanceOf(DatabaseStartupError);
    expect(readFileSync(join(dataDir, "portcullis.db")).equals(garbage)).toBe(true);
    expect(existsSync(join(dataDir, "portcullis.db-wal"))).toBe(false);
  });

  it("bootstraps once, from PORTCULLIS_BOOTSTRAP_KEY, and stores only its hash", async () => {
    const dataDir = tempDir();
    const first = await startServer({ dataDir });
    const key = first.ownerKey;
    expect(first.server.bootstrap?.generated).toBe(false);
    expect((await first.client(key).data("{ viewer { kind } }")).viewer.kind).toBe("API_KEY");
    await first.close();
    const secret = key.slice(27, 59);
    for (const f of ["portcullis.db", "portcullis.db-wal"]) {
      if (existsSync(join(dataDir, f))) expect(readFileSync(join(dataDir, f)).includes(Buffer.from(secret))).toBe(false);
    }
    const second = await startServer({ dataDir });
    expect(second.server.bootstrap).toBeUndefined();
    expect(second.server.services.organizations.list()).toHaveLength(1);
    expect((await second.client(key).data("{ viewer { kind } }")).viewer.kind).toBe("API_KEY");
    await second.close();
  });

  it("refuses to start without a master key version that data is wrapped with, and names it", async () => {
    const dataDir = tempDir();
    const first = await startServer({ dataDir });
    await first.close();
    const other = "2:" + Buffer.alloc(32, 9).toString("base64");
    const attempt = buildServer(loadConfig({ PORTCULLIS_DATA_DIR: dataDir, PORTCULLIS_MASTER_KEYS: other }), { logger: createLogger("silent") });
    await expect(attempt).rejects.toBeInstanceOf(MissingMasterKeyError);
    await expect(attempt).rejects.toThrow(/version 1 /);
  });

  it("serves HTTPS with TLS 1.2 as the minimum and sends HSTS", async () => {
    const dir = tempDir();
    const cert = join(dir, "cert.pem");
    const key = join(dir, "key.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost"], { stdio: "ignore" });
    const t = await startServer({ env: { TLS_CERT_FILE: cert, TLS_KEY_FILE: key } });
    try {
      expect(t.url).toMatch(/^https:/);
      const agent = new Agent({ connect: { ca: readFileSync(cert), servername: "localhost" } });
      const res = await undiciFetch(`${t.url}/healthz`, { dispatcher: agent });
      expect(res.status).toBe(200);
      expect(res.headers.get("strict-transport-security")).toMatch(/max-age=\d+/);
      await agent.close();
      const port = Number(new URL(t.url).port);
      const oldTls = await new Promise<string>((resolve) => {
        const socket = connect({ host: "127.0.0.1", port, maxVersion: "TLSv1.1", minVersion: "TLSv1", rejectUnauthorized: false }, () => resolve("connected"));
        socket.on("error", (e) => resolve(e.message));
      });
      expect(oldTls).not.toBe("connected");
    } finally {
      await t.stop();
    }
  });
});

describe("migrations", () => {
  it("applies pending migrations in one transaction: a failing one leaves the database as it was", async () => {
    const { cpSync, writeFileSync: write, readFileSync: read } = await import("node:fs");
    const { openDatabase, migrationsFolder } = await import("../../src/db/client.js");
    const dataDir = tempDir();
    openDatabase(dataDir).sqlite.close();
    const folder = join(tempDir(), "drizzle");
    cpSync(migrationsFolder, folder, { recursive: true });
    const journal = JSON.parse(read(join(folder, "meta", "_journal.json"), "utf8"));
    const shipped = journal.entries.length;
    const tag = `${String(shipped).padStart(4, "0")}_broken`;
    write(join(folder, `${tag}.sql`), "CREATE TABLE half_done (id text);\n--> statement-breakpoint\nALTER TABLE no_such_table ADD COLUMN x text;\n");
    journal.entries.push({ idx: shipped, version: "6", when: journal.entries.at(-1).when + 1, tag, breakpoints: true });
    write(join(folder, "meta", "_journal.json"), JSON.stringify(journal));
    expect(() => openDatabase(dataDir, folder)).toThrow(DatabaseStartupError);
    const { sqlite } = openDatabase(dataDir);
    try {
      expect(sqlite.prepare("SELECT name FROM sqlite_schema WHERE name = 'half_done'").get()).toBeUndefined();
      expect((sqlite.prepare("SELECT count(*) AS n FROM __drizzle_migrations").get() as { n: number }).n).toBe(shipped);
    } finally {
      sqlite.close();
    }
  });
});
