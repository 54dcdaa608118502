// GraphQL subscriptions over WebSocket (graphql-transport-ws) on the same /graphql path.
// The upgrade is refused before any WebSocket exists for another path, another subprotocol
// or a browser origin that CORS would refuse. The connection authenticates in connection_init
// through the same Door as HTTP (audit of failures, per-address lockout), and each subscribe
// checks the stored credentials again, so a revoked key starts no new stream. Only
// subscriptions run here, with HTTP's validation rules, token limit and error masking.
//
// graphql-ws's makeServer is glued to `ws` here rather than through `useServer`
// (graphql-ws/use/ws): useServer reports a client's oversized or malformed frames with
// console.error and a 4500 close, and offers neither an idle timeout nor our logger.
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import {
  getOperationAST,
  GraphQLError,
  GraphQLObjectType,
  GraphQLSchema,
  getVariableValues,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FormattedExecutionResult,
  type GraphQLFieldResolver,
  type GraphQLFormattedError,
  type ValidationRule,
} from "graphql";
import { CloseCode, GRAPHQL_TRANSPORT_WS_PROTOCOL, makeServer, type Server, type Context as WsContext, type SubscribePayload } from "graphql-ws";
import { WebSocketServer, type WebSocket } from "ws";
import { permissionShield } from "../auth/permission-map.js";
import type { Principal } from "../auth/principal.js";
import type { Context } from "../context.js";
import { AppError, unauthenticated } from "../errors.js";
import { formatError } from "../graphql/format-error.js";
import { DEFAULT_LIMITS, queryLimitsRule, type QueryLimits } from "../graphql/limits.js";
import { newId } from "../ids.js";
import type { Logger } from "../logger.js";
import type { Services } from "../services.js";
import type { Door, DoorResult } from "./authenticate.js";
import { ClientAddressResolver } from "./client-address.js";
import { addressBucket } from "../auth/failure-limiter.js";

/** Close codes besides graphql-ws's own (4400 bad message, 4406 subprotocol, 4408 no connection_init in time, 4409 duplicate id). */
export const WS_CLOSE = {
  /** Any authentication failure, whatever its cause (the reason is always "Unauthorized"). */
  UNAUTHORIZED: { code: 4401, reason: "Unauthorized" },
  /** The address is locked out after too many failed authentications. */
  LOCKED_OUT: { code: 4429, reason: "Too many failed authentications" },
  /** No subscription running and no message for the idle timeout. */
  IDLE: { code: 1000, reason: "Idle timeout" },
  SHUTDOWN: { code: 1001, reason: "Server shutting down" },
  INTERNAL: { code: CloseCode.InternalServerError, reason: "Internal server error" },
  // A frame over maxPayload is closed by `ws` itself with 1009.
} as const;

export interface WebSocketOptions {
  /** The served schema (permission shield applied), the one Apollo serves over HTTP. */
  schema: GraphQLSchema;
  services: Services;
  door: Door;
  logger: Logger;
  corsOrigins: string[];
  trustedProxies: string[];
  maxSubscriptions: number;
  maxConnectionsPerAddress: number;
  maxMessageBytes: number;
  idleTimeoutMs: number;
  keepAliveMs: number;
  initTimeoutMs: number;
  limits?: QueryLimits;
}

/** What one connection knows; graphql-ws hands it to every hook as ctx.extra. */
interface Connection {
  id: string;
  socket: WebSocket;
  ip: string;
  userAgent: string | null;
  /** The authorization sent in connection_init, checked again at each subscribe. */
  authorization?: string;
  principal?: Principal;
  ctx?: WsContext<Record<string, unknown> | undefined, Connection>;
  lastActivity: number;
  closing: boolean;
  close(code: number, reason: string): void;
}

interface Operation {
  requestId: string;
  name: string | null;
  principalId?: string;
  started: number;
  outcome?: string;
}

export class GraphQLWebSocket {
  private readonly wss: WebSocketServer;
  private readonly cors: ReadonlySet<string>;
  private readonly addresses: ClientAddressResolver;
  private readonly schema: GraphQLSchema;
  private readonly rules: ValidationRule[];
  private readonly limits: QueryLimits;
  private readonly connections = new Set<Connection>();
  /** Open connections and upgrades under way, per address bucket: one address cannot hold every socket. */
  private readonly perAddress = new Map<string, number>();
  /** Keyed by the subscribe message's payload, which graphql-ws passes to every hook of that operation. */
  private readonly operations = new WeakMap<SubscribePayload, Operation>();
  private readonly graphqlWs: Server<Connection>;
  private closing = false;

  constructor(private readonly o: WebSocketOptions) {
    this.cors = new Set(o.corsOrigins);
    this.addresses = new ClientAddressResolver(o.trustedProxies);
    this.schema = shieldSubscribe(o.schema);
    this.limits = o.limits ?? DEFAULT_LIMITS;
    this.rules = [...specifiedRules, queryLimitsRule(this.limits)];
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: o.maxMessageBytes,
      perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has(GRAPHQL_TRANSPORT_WS_PROTOCOL) ? GRAPHQL_TRANSPORT_WS_PROTOCOL : false),
    });
    this.graphqlWs = makeServer<Record<string, unknown> | undefined, Connection>({
      schema: this.schema,
      connectionInitWaitTimeout: o.initTimeoutMs,
      onConnect: (ctx) => this.onConnect(ctx),
      onSubscribe: (ctx, _id, payload) => this.onSubscribe(ctx, payload),
      onNext: (_ctx, _id, payload, _args, result) => this.onNext(payload, result),
      onError: (_ctx, _id, payload, errors) => this.onError(payload, errors),
      onComplete: (ctx, _id, payload) => this.onComplete(ctx.extra, payload),
    });
  }

  /** The http(s) server's `upgrade` listener. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const requestId = newId("Request");
    const ip = this.addresses.resolve(req);
    const path = (req.url ?? "/").split("?")[0];
    const refuse = (status: number, code: string, message: string, outcome: string) => {
      this.o.logger.info({ requestId, method: req.method, path, status, outcome, ip }, "websocket upgrade refused");
      refuseUpgrade(socket, status, code, message, requestId);
    };
    socket.on("error", () => socket.destroy());
    if (path !== "/graphql") return refuse(404, "NOT_FOUND", "No such endpoint", "not_found");
    if (this.closing) return refuse(503, "INTERNAL_SERVER_ERROR", "The server is shutting down", "shutting_down");
    if (req.method !== "GET" || String(req.headers.upgrade ?? "").toLowerCase() !== "websocket") {
      return refuse(400, "BAD_REQUEST", "Only WebSocket upgrades are served here", "bad_upgrade");
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !this.cors.has(origin)) return refuse(403, "FORBIDDEN", "This origin may not open a WebSocket", "origin_refused");
    const offered = String(req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
    if (!offered.includes(GRAPHQL_TRANSPORT_WS_PROTOCOL)) {
      return refuse(400, "BAD_REQUEST", `Use the ${GRAPHQL_TRANSPORT_WS_PROTOCOL} subprotocol`, "bad_subprotocol");
    }
    const bucket = addressBucket(ip);
    const open = this.perAddress.get(bucket) ?? 0;
    if (open >= this.o.maxConnectionsPerAddress) {
      return refuse(429, "RATE_LIMITED", `At most ${this.o.maxConnectionsPerAddress} WebSocket connections may be open from one address`, "too_many_connections");
    }
    this.perAddress.set(bucket, open + 1);
    // Counted from the upgrade on, and given back when its TCP socket closes, whatever became of it.
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const left = (this.perAddress.get(bucket) ?? 1) - 1;
      if (left > 0) this.perAddress.set(bucket, left);
      else this.perAddress.delete(bucket);
    };
    socket.once("close", release);
    const userAgent = (Array.isArray(req.headers["user-agent"]) ? req.headers["user-agent"][0] : req.headers["user-agent"]) ?? null;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.opened(ws, requestId, ip, userAgent));
  }

  /** Refuses new upgrades, closes every connection (their streams are returned), waits up to 5 s. */
  async close(): Promise<void> {
    this.closing = true;
    const all = [...this.connections];
    await Promise.race([
      Promise.all(
        all.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.socket.readyState === c.socket.CLOSED) return resolve();
              c.socket.once("close", () => resolve());
              c.close(WS_CLOSE.SHUTDOWN.code, WS_CLOSE.SHUTDOWN.reason);
            }),
        ),
      ),
      new Promise((resolve) => setTimeout(resolve, 5_000).unref()),
    ]);
    for (const c of this.connections) c.socket.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private opened(socket: WebSocket, id: string, ip: string, userAgent: string | null): void {
    const started = performance.now();
    const connection: Connection = {
      id,
      socket,
      ip,
      userAgent,
      lastActivity: performance.now(),
      closing: false,
      close(code, reason) {
        // The first close wins: graphql-ws closes again with its own code after a refused connection_init.
        if (connection.closing) return;
        connection.closing = true;
        socket.close(code, reason);
      },
    };
    this.connections.add(connection);
    socket.on("error", (err) => this.o.logger.debug({ connectionId: id, err: err.message }, "websocket error"));

    // Keep-alive: a ping each interval; a peer that has not answered the previous one is gone.
    let alive = true;
    socket.on("pong", () => (alive = true));
    const keepAlive = setInterval(() => {
      if (!alive) return socket.terminate();
      alive = false;
      socket.ping();
    }, this.o.keepAliveMs);

    // Idle: no subscription running and no message for idleTimeoutMs.
    let idleTimer: NodeJS.Timeout;
    const checkIdle = () => {
      const running = connection.ctx ? Object.keys(connection.ctx.subscriptions).length : 0;
      const idleFor = performance.now() - connection.lastActivity;
      if (running === 0 && idleFor >= this.o.idleTimeoutMs) return connection.close(WS_CLOSE.IDLE.code, WS_CLOSE.IDLE.reason);
      idleTimer = setTimeout(checkIdle, running > 0 ? this.o.idleTimeoutMs : this.o.idleTimeoutMs - idleFor);
    };
    idleTimer = setTimeout(checkIdle, this.o.idleTimeoutMs);

    const closed = this.graphqlWs.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            // A failed send means the connection is gone; its close event cleans up.
            socket.send(data, () => resolve());
          }),
        close: (code, reason) => connection.close(code ?? 1000, reason ?? ""),
        onMessage: (cb) =>
          socket.on("message", async (data) => {
            try {
              await cb(String(data));
            } catch (err) {
              // A message of a type a client may not send, or a fault in a hook.
              this.o.logger.warn({ connectionId: id, err: { type: (err as Error).name, message: (err as Error).message, stack: (err as Error).stack } }, "websocket message failed");
              connection.close(WS_CLOSE.INTERNAL.code, WS_CLOSE.INTERNAL.reason);
            }
          }),
      },
      connection,
    );

    socket.once("close", (code, reason) => {
      clearInterval(keepAlive);
      clearTimeout(idleTimer);
      this.connections.delete(connection);
      this.o.logger.info(
        { connectionId: id, ip, principalId: connection.principal?.id, code, reason: String(reason), durationMs: Math.round(performance.now() - started) },
        "websocket closed",
      );
      closed(code, String(reason)).catch((err: Error) => this.o.logger.error({ connectionId: id, err: { type: err?.name, message: err?.message, stack: err?.stack } }, "websocket cleanup failed"));
    });
  }

  private async onConnect(ctx: WsContext<Record<string, unknown> | undefined, Connection>): Promise<boolean> {
    const connection = ctx.extra;
    connection.ctx = ctx;
    connection.lastActivity = performance.now();
    const params = ctx.connectionParams ?? {};
    const value = params.authorization ?? params.Authorization;
    const authorization = typeof value === "string" ? value : undefined;
    const requestId = newId("Request");
    const auth = await this.o.door.check(authorization, { requestId, ip: connection.ip, userAgent: connection.userAgent });
    if (!auth.ok) {
      this.o.logger.info({ requestId, connectionId: connection.id, ip: connection.ip, outcome: `unauthenticated:${auth.reason}` }, "websocket connection_init");
      this.refuse(connection, auth);
      return false;
    }
    connection.authorization = authorization;
    connection.principal = auth.principal;
    connection.lastActivity = performance.now();
    this.o.logger.info({ requestId, connectionId: connection.id, ip: connection.ip, principalId: auth.principal.id, outcome: "ok" }, "websocket connection_init");
    return true;
  }

  private refuse(connection: Connection, auth: Extract<DoorResult, { ok: false }>): void {
    const close = auth.status === 429 ? WS_CLOSE.LOCKED_OUT : WS_CLOSE.UNAUTHORIZED;
    connection.close(close.code, close.reason);
  }

  private async onSubscribe(
    ctx: WsContext<Record<string, unknown> | undefined, Connection>,
    payload: SubscribePayload,
  ): Promise<readonly GraphQLError[] | ExecutionArgs> {
    const connection = ctx.extra;
    connection.lastActivity = performance.now();
    const op: Operation = { requestId: newId("Request"), name: null, started: performance.now() };
    this.operations.set(payload, op);
    const refused = (outcome: string, errors: readonly GraphQLError[]) => {
      op.outcome = outcome;
      this.logOperation(connection, op);
      return errors;
    };

    // graphql-ws registers the subscription before this hook runs: the count includes this one.
    if (Object.keys(ctx.subscriptions).length > this.o.maxSubscriptions) {
      return refused("too_many_subscriptions", [new AppError("RATE_LIMITED", `At most ${this.o.maxSubscriptions} subscriptions may run at once on one connection`)]);
    }

    // The credentials of a long-lived connection are checked again before each new stream.
    const auth = await this.o.door.check(connection.authorization, { requestId: op.requestId, ip: connection.ip, userAgent: connection.userAgent });
    if (!auth.ok) {
      this.refuse(connection, auth);
      return refused(`unauthenticated:${auth.reason}`, [unauthenticated()]);
    }
    connection.principal = auth.principal;
    op.principalId = auth.principal.id;

    let document: DocumentNode;
    try {
      document = parse(payload.query, { maxTokens: this.limits.maxTokens });
    } catch (err) {
      return refused("parse_failed", [withCode(err, "GRAPHQL_PARSE_FAILED")]);
    }
    const validationErrors = validate(this.schema, document, this.rules, { maxErrors: this.limits.maxErrors });
    if (validationErrors.length > 0) return refused("validation_failed", validationErrors.map((e) => withCode(e, "GRAPHQL_VALIDATION_FAILED")));
    const operation = getOperationAST(document, payload.operationName ?? undefined);
    if (!operation) return refused("bad_request", [new AppError("BAD_REQUEST", "The document does not name one operation to run")]);
    if (operation.operation !== "subscription") {
      return refused("bad_request", [new AppError("BAD_REQUEST", "Only subscriptions are served over the WebSocket; send queries and mutations over HTTP")]);
    }
    op.name = operation.name?.value ?? null;
    // As over HTTP (Apollo does the same), variables that do not fit their types are the caller's input error.
    const variables = getVariableValues(this.schema, operation.variableDefinitions ?? [], payload.variables ?? {}, { maxErrors: 25 });
    if (variables.errors) return refused("bad_variables", variables.errors.map((e) => new AppError("BAD_USER_INPUT", e.message)));

    const contextValue: Context = {
      requestId: op.requestId,
      principal: auth.principal,
      ip: connection.ip,
      userAgent: connection.userAgent,
      services: this.o.services,
      operation: { name: op.name },
    };
    return { schema: this.schema, document, operationName: payload.operationName, variableValues: payload.variables, contextValue };
  }

  private onNext(payload: SubscribePayload, result: ExecutionResult): FormattedExecutionResult | void {
    if (!result.errors?.length) return;
    const op = this.operations.get(payload);
    if (op) op.outcome ??= "errors";
    return { ...(result.data !== undefined ? { data: result.data } : {}), errors: result.errors.map((e) => this.format(e, op)) };
  }

  private onError(payload: SubscribePayload, errors: readonly GraphQLError[]): GraphQLFormattedError[] {
    const op = this.operations.get(payload);
    if (op) op.outcome ??= `error:${String(errors[0]?.extensions?.code ?? "INTERNAL_SERVER_ERROR")}`;
    return errors.map((e) => this.format(e, op));
  }

  private onComplete(connection: Connection, payload: SubscribePayload): void {
    connection.lastActivity = performance.now();
    const op = this.operations.get(payload);
    if (op) this.logOperation(connection, op);
  }

  private format(error: GraphQLError | GraphQLFormattedError, op: Operation | undefined): GraphQLFormattedError {
    const formatted = error instanceof GraphQLError ? error.toJSON() : error;
    const code = formatted.extensions?.code;
    if (code === undefined || code === "INTERNAL_SERVER_ERROR") {
      const original = (error instanceof GraphQLError && error.originalError) || error;
      this.o.logger.error({ requestId: op?.requestId, err: { type: (original as Error).name, message: original.message, stack: (original as Error).stack } }, "unexpected error");
    }
    const masked = formatError(formatted);
    return { ...masked, extensions: { ...masked.extensions, requestId: op?.requestId } };
  }

  private logOperation(connection: Connection, op: Operation): void {
    this.o.logger.info(
      {
        requestId: op.requestId,
        connectionId: connection.id,
        operation: op.name,
        principalId: op.principalId,
        outcome: op.outcome ?? "ok",
        durationMs: Math.round((performance.now() - op.started) * 100) / 100,
        ip: connection.ip,
      },
      "subscription",
    );
  }
}

function withCode(err: unknown, code: "GRAPHQL_PARSE_FAILED" | "GRAPHQL_VALIDATION_FAILED"): GraphQLError {
  const e = err instanceof GraphQLError ? err : new GraphQLError(String((err as Error)?.message ?? err));
  return new GraphQLError(e.message, { nodes: e.nodes, source: e.source, positions: e.positions, path: e.path, extensions: { ...e.extensions, code } });
}

function refuseUpgrade(socket: Duplex, status: number, code: string, message: string, requestId: string): void {
  if (!socket.writable) return void socket.destroy();
  const body = JSON.stringify({ errors: [{ message, extensions: { code, requestId } }] });
  const text: Record<number, string> = { 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests", 503: "Service Unavailable" };
  socket.end(
    `HTTP/1.1 ${status} ${text[status] ?? "Error"}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `x-request-id: ${requestId}\r\ncache-control: no-store\r\nx-content-type-options: nosniff\r\nconnection: close\r\n\r\n${body}`,
  );
}

/**
 * graphql-middleware wraps only `resolve` of a field that has both `resolve` and `subscribe`,
 * so the permission shield would first run per event, after the stream (and the provider
 * call) had started. This copy of the schema runs each Subscription field's shield rule
 * before its `subscribe` as well; a refusal is returned as the subscription's error.
 */
export function shieldSubscribe(schema: GraphQLSchema): GraphQLSchema {
  const subscription = schema.getSubscriptionType();
  if (!subscription) return schema;
  type Middleware = (resolve: GraphQLFieldResolver<unknown, unknown>, ...rest: Parameters<GraphQLFieldResolver<unknown, unknown>>) => unknown;
  const generated = permissionShield(schema).generate(schema) as Record<string, Record<string, Middleware | { resolve: Middleware }>>;
  const rules = generated[subscription.name] ?? {};
  const config = subscription.toConfig();
  const fields = Object.fromEntries(
    Object.entries(config.fields).map(([name, field]) => {
      const rule = rules[name];
      const middleware = typeof rule === "function" ? rule : rule?.resolve;
      const subscribe = field.subscribe;
      if (!subscribe || !middleware) return [name, field];
      return [name, { ...field, subscribe: (source: unknown, args: Record<string, unknown>, ctx: unknown, info: Parameters<GraphQLFieldResolver<unknown, unknown>>[3]) => middleware(subscribe, source, args, ctx, info) }];
    }),
  );
  const guarded = new GraphQLObjectType({ ...config, fields });
  const schemaConfig = schema.toConfig();
  return new GraphQLSchema({ ...schemaConfig, subscription: guarded, types: schemaConfig.types.filter((t) => t !== subscription) });
}
