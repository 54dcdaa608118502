// The real server on an ephemeral port, with a temporary data directory, captured logs and
// an injectable clock. Every test file starts its own.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { ManualClock } from "../../src/clock.js";
import { loadConfig, type Config } from "../../src/config.js";
import { generateApiKey } from "../../src/crypto/api-key-format.js";
import { newId } from "../../src/ids.js";
import { createLogger } from "../../src/logger.js";
import type { Resolver } from "../../src/net/outbound.js";
import { buildServer, type PortcullisServer, type ServerDeps } from "../../src/server.js";
import { GraphQLClient } from "./client.js";

export const TEST_MASTER_KEY = "1:" + Buffer.alloc(32, 7).toString("base64");

export interface TestServer {
  url: string;
  server: PortcullisServer;
  config: Config;
  clock: ManualClock;
  dataDir: string;
  /** Every log line the server wrote, as text. */
  logs: string[];
  /** The bootstrap organization and its owner key. */
  organizationId: string;
  ownerKey: string;
  client(token?: string): GraphQLClient;
  /** Another tenant, made the way the CLI makes one. */
  createOrganization(name?: string): { organizationId: string; ownerKey: string };
  stop(): Promise<void>;
  /** Stops the server but keeps its data directory (for restarts and scans). */
  close(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string>;
  dataDir?: string;
  clock?: ManualClock;
  /** DNS for the server's outbound client (test/harness/loopback.ts fakeDns). */
  resolver?: Resolver;
  /** Policy enforcement and load-balancing randomness for model calls (src/server.ts ServerDeps). */
  enforcer?: ServerDeps["enforcer"];
  random?: ServerDeps["random"];
}

export async function startServer(options: StartOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "portcullis-test-"));
  const bootstrapKey = generateApiKey(newId("ApiKey")).token;
  const config = loadConfig({
    PORTCULLIS_DATA_DIR: dataDir,
    PORTCULLIS_MASTER_KEYS: TEST_MASTER_KEY,
    PORTCULLIS_BOOTSTRAP_KEY: bootstrapKey,
    PORTCULLIS_LOG_LEVEL: "info",
    // Every test sends from 127.0.0.1 on a clock that stands still, hostile-input tests thousands
    // of failing requests: the address limit is tried in test/foundation/abuse-limits.test.ts.
    PORTCULLIS_ADDRESS_FAILURE_LIMIT: "1000000",
    ...options.env,
  });
  const clock = options.clock ?? new ManualClock(new Date());
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const server = await buildServer(config, { clock, logger: createLogger("info", sink), resolver: options.resolver, enforcer: options.enforcer, random: options.random });
  const { url } = await server.listen(0, "127.0.0.1");
  const organizationId = server.bootstrap?.organizationId ?? server.services.organizations.list()[0].id;
  let closed = false;
  const close = async () => {
    if (!closed) await server.close();
    closed = true;
  };
  return {
    url,
    server,
    config,
    clock,
    dataDir,
    logs,
    organizationId,
    ownerKey: server.bootstrap?.ownerApiKey ?? config.bootstrapKey ?? "",
    client: (token) => new GraphQLClient(url, token),
    createOrganization(name = "Other organization") {
      const created = server.services.organizations.create(name);
      return { organizationId: created.organizationId, ownerKey: created.ownerApiKey };
    },
    close,
    async stop() {
      await close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
