// buildServer: the one factory that main, the CLI and the tests use.
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { readdirSync, readFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { ApiKeyAuthenticator } from "./auth/api-key-authenticator.js";
import { AuthFailureLimiter } from "./auth/failure-limiter.js";
import { AbuseLimits } from "./http/abuse-limits.js";
import { MemoryCounterStore } from "./gateway/counter-store.js";
import { OidcAuthenticator } from "./auth/oidc-authenticator.js";
import { issuerKeyFetcher } from "./auth/oidc-discovery.js";
import { systemClock, type Clock } from "./clock.js";
import type { Config } from "./config.js";
import type { Context } from "./context.js";
import { KeyRing } from "./crypto/key-ring.js";
import { IssuerKeyCache } from "./crypto/oidc-token.js";
import { loadOrCreateDevMasterKeys } from "./crypto/master-key-file.js";
import { ChangeMark } from "./db/change-mark.js";
import { BackgroundCheckpointer } from "./db/checkpointer.js";
import { migrationsApplied, migrationsFolder, openDatabase, type OpenedDatabase } from "./db/client.js";
import { requestPlugin } from "./graphql/apollo-plugin.js";
import { formatError } from "./graphql/format-error.js";
import { DEFAULT_LIMITS, queryLimitsRule } from "./graphql/limits.js";
import { buildSchema } from "./graphql/schema.js";
import { createApp } from "./http/app.js";
import { Door } from "./http/authenticate.js";
import { createExplorer } from "./http/explorer.js";
import { GraphQLWebSocket } from "./http/websocket.js";
import { newId } from "./ids.js";
import { createLogger, type Logger } from "./logger.js";
import { OutboundClient, type Resolver } from "./net/outbound.js";
import { AuditCheckpointSchedule } from "./modules/audit/audit-checkpoint.schedule.js";
import { KeyStore } from "./modules/master-keys/key-store.js";
import { RetentionJob } from "./modules/retention/retention.job.js";
import type { CreatedOrganization } from "./modules/organizations/organization.service.js";
import { createServices, type ServiceDeps, type Services } from "./services.js";

export interface ServerDeps {
  clock?: Clock;
  logger?: Logger;
  /** DNS for outbound calls; tests inject one so that no test needs the network. */
  resolver?: Resolver;
  /** Create the first organization on a new database (the server does; the CLI does not). */
  bootstrap?: boolean;
  /** Policy enforcement of model calls, and the random source of load balancing (tests inject both). */
  enforcer?: ServiceDeps["enforcer"];
  random?: ServiceDeps["random"];
}

export interface PortcullisServer {
  /** Set on the first start of a new database: the owner key to show once. */
  bootstrap?: CreatedOrganization & { generated: boolean };
  /** Set when a development master key file was generated. */
  generatedMasterKeyFile?: string;
  services: Services;
  /** Set when PORTCULLIS_RETENTION_DAYS is: runs once listening, then hourly. */
  retention?: RetentionJob;
  database: OpenedDatabase;
  logger: Logger;
  listen(port?: number, host?: string): Promise<{ url: string; port: number }>;
  close(): Promise<void>;
}

/** Opens keys and database and prepares everything; nothing listens until listen(). */
export async function buildServer(config: Config, deps: ServerDeps = {}): Promise<PortcullisServer> {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? createLogger(config.logLevel);

  const database = openDatabase(config.dataDir, undefined, config.sqliteSynchronous);
  let generatedMasterKeyFile: string | undefined;
  let masterKeys = config.masterKeys;
  if (!masterKeys) {
    const dev = loadOrCreateDevMasterKeys(config.dataDir);
    masterKeys = dev.keys;
    if (dev.created) generatedMasterKeyFile = dev.path;
    logger.warn({ path: dev.path }, "No PORTCULLIS_MASTER_KEYS configured: using a development master key file. Configure real keys before production.");
  }
  const keys = new KeyStore(database.db, new KeyRing(masterKeys));
  try {
    keys.assertAllVersionsAvailable();
    keys.pepper();
    keys.auditSigner();
  } catch (err) {
    database.sqlite.close();
    throw err;
  }

  // Checkpoints happen off the request path (src/db/checkpointer.ts); the CLI keeps SQLite's own.
  const checkpointer = new BackgroundCheckpointer(database.sqlite, database.path, (err) =>
    logger.warn({ err: err.message }, "WAL checkpoints fell back to the serving connection"),
  );
  const outbound = new OutboundClient({ allowPrivateNetwork: config.allowPrivateNetwork, resolver: deps.resolver });
  // One per connection: it lets caches (API keys, policies) know cheaply when to refill.
  const changeMark = new ChangeMark(database.sqlite);
  // One store for every counter: the policies' rate limits, the abuse limits and the brake.
  const counters = new MemoryCounterStore();
  const services = createServices({ db: database.db, sqlite: database.sqlite, keys, clock, outbound, changeMark, counters, enforcer: deps.enforcer, random: deps.random, storeText: config.storeText });
  let bootstrap: PortcullisServer["bootstrap"];
  if (deps.bootstrap !== false && services.organizations.neverBootstrapped()) {
    const created = services.organizations.create("Default organization", config.bootstrapKey);
    bootstrap = { ...created, generated: !config.bootstrapKey };
    logger.info({ organizationId: created.organizationId, apiKeyId: created.ownerApiKeyId }, "created the first organization and its owner API key");
  }

  // One served schema for both ways in: HTTP (Apollo) and subscriptions over WebSocket.
  const schema = buildSchema();
  const apollo = new ApolloServer<Context>({
    schema,
    introspection: !config.production,
    includeStacktraceInErrorResponses: false,
    hideSchemaDetailsFromClientErrors: true,
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    // Our own SIGTERM handler drains requests first; Apollo's would re-raise the signal.
    stopOnTerminationSignals: false,
    parseOptions: { maxTokens: DEFAULT_LIMITS.maxTokens },
    validationRules: [queryLimitsRule(DEFAULT_LIMITS)],
    validationOptions: { maxErrors: DEFAULT_LIMITS.maxErrors },
    formatError,
    logger: { debug: () => {}, info: () => {}, warn: (m) => logger.warn(String(m)), error: (m) => logger.error(String(m)) },
    plugins: [requestPlugin(logger), ApolloServerPluginLandingPageDisabled()],
  });
  await apollo.start();

  // Started by listen(): a command-line process signs only when asked (checkpoint-audit).
  const checkpointSchedule = new AuditCheckpointSchedule(services.auditCheckpoints, config.auditCheckpointIntervalMs, logger);

  const expectedMigrations = readdirSync(migrationsFolder).filter((f) => f.endsWith(".sql")).length;
  let closing = false;
  const abuse = new AbuseLimits(config.abuse, clock, counters);
  const door = new Door(
    new ApiKeyAuthenticator(database.db, keys, clock, changeMark),
    new OidcAuthenticator(
      database.db,
      new IssuerKeyCache(issuerKeyFetcher(outbound), clock, {}, (issuer, err) => logger.warn({ issuer, err: err.message }, "could not fetch the OIDC issuer's keys")),
      services.ssoSignIn,
      clock,
    ),
    new AuthFailureLimiter({ maxFailures: config.authFailureLimit, windowMs: config.authFailureWindowSeconds * 1000, lockoutMs: config.authLockoutSeconds * 1000 }, clock, counters),
    services.auditWriter,
    abuse,
  );
  const handler = createApp({
    apollo,
    services,
    door,
    clock,
    logger,
    tls: !!config.tls,
    corsOrigins: config.corsOrigins,
    trustedProxies: config.trustedProxies,
    maxBodyBytes: config.maxBodyBytes,
    maxModelRequestBytes: config.maxModelRequestBytes,
    metricsToken: config.metricsToken,
    abuse,
    // Like introspection, the explorer exists in development only.
    explorer: config.production ? undefined : createExplorer(),
    ready: () => {
      if (closing) return false;
      try {
        return migrationsApplied(database.sqlite, expectedMigrations);
      } catch {
        return false;
      }
    },
  });

  const server: Server = config.tls
    ? createHttpsServer({ cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile), minVersion: "TLSv1.2" }, handler)
    : createHttpServer(handler);
  // A request Node's parser refuses (a NUL or line break in a header, oversized headers) never
  // reaches the pipeline; it still gets the contract's JSON error shape and a request ID.
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const requestId = newId("Request");
    const tooLarge = err.code === "HPE_HEADER_OVERFLOW";
    const body = JSON.stringify({ errors: [{ message: tooLarge ? "The request headers are too large" : "Malformed HTTP request", extensions: { code: "BAD_REQUEST", requestId } }] });
    logger.info({ requestId, outcome: "malformed_http", code: err.code }, "request");
    socket.end(
      `HTTP/1.1 ${tooLarge ? "431 Request Header Fields Too Large" : "400 Bad Request"}\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  const websockets = new GraphQLWebSocket({
    schema,
    services,
    door,
    logger,
    corsOrigins: config.corsOrigins,
    trustedProxies: config.trustedProxies,
    ...config.websocket,
  });
  server.on("upgrade", (req, socket, head) => websockets.handleUpgrade(req, socket, head));
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;
  server.keepAliveTimeout = 5_000;

  // Only a serving server enforces retention on its own; the CLI runs it when asked (apply-retention).
  const retention = config.retentionDays === null ? undefined : new RetentionJob(services.retention, config.retentionDays, logger);

  let inFlight = 0;
  let drained: (() => void) | undefined;
  server.on("request", (_req, res) => {
    inFlight++;
    res.on("close", () => {
      inFlight--;
      if (inFlight === 0) drained?.();
    });
  });

  return {
    bootstrap,
    generatedMasterKeyFile,
    services,
    retention,
    database,
    logger,
    listen(port = config.port, host = config.host) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          retention?.start();
          const address = server.address() as AddressInfo;
          const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
          checkpointSchedule.start();
          resolve({ url: `${config.tls ? "https" : "http"}://${shownHost}:${address.port}`, port: address.port });
        });
      });
    },
    /** Stops accepting, lets requests in flight finish (up to 10 s), then closes the database. */
    async close() {
      if (closing) return;
      closing = true;
      // Upgraded sockets still count as the server's connections: close them with the rest.
      const websocketsClosed = websockets.close();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        await Promise.race([new Promise<void>((resolve) => (drained = resolve)), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
      }
      server.closeAllConnections();
      await websocketsClosed;
      await stopped;
      await retention?.stop();
      await apollo.stop();
      await outbound.close();
      await checkpointSchedule.stop();
      await checkpointer.stop();
      database.sqlite.close();
    },
  };
}
