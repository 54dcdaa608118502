// The whole request pipeline: request ID and headers -> health routes -> for /graphql:
// authenticate (API key or OIDC JWT; 401 before anything is parsed) -> body limit -> JSON -> Apollo;
// for /v1/*: the OpenAI wire format (src/modules/openai-wire), through the same door check;
// in development, /explorer (src/http/explorer.ts).
// WebSocket upgrades on /graphql are src/http/websocket.ts.
import { HeaderMap, type ApolloServer } from "@apollo/server";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Clock } from "../clock.js";
import type { Context } from "../context.js";
import { newId } from "../ids.js";
import type { Logger } from "../logger.js";
import { createWireDoor, isWirePath } from "../modules/openai-wire/wire.door.js";
import type { Services } from "../services.js";
import type { Door } from "./authenticate.js";
import { ClientAddressResolver } from "./client-address.js";
import { isExplorerPath, type Explorer } from "./explorer.js";
import { BodyTooLargeError, readBody } from "./read-body.js";
import { closeAfterDraining } from "./too-large.js";
import { sendError, sendJson } from "./respond.js";
import { applyCors, setSecurityHeaders } from "./security-headers.js";
import type { Door as MetricsDoor } from "../metrics/metrics.js";
import type { AbuseLimits } from "./abuse-limits.js";
import { metricsAccess } from "../metrics/metrics-access.js";

export interface AppOptions {
  apollo: ApolloServer<Context>;
  services: Services;
  door: Door;
  clock: Clock;
  logger: Logger;
  tls: boolean;
  corsOrigins: string[];
  trustedProxies: string[];
  maxBodyBytes: number;
  /** The body limit of the OpenAI wire format, whose requests carry images. */
  maxModelRequestBytes: number;
  ready: () => boolean;
  /** The bearer /metrics asks for; without one, only loopback peers are answered. */
  metricsToken: string | undefined;
  /** Counts the failing requests of each address (the door refuses the floods). */
  abuse: AbuseLimits;
  /** GraphiQL's page and files, in development only. */
  explorer?: Explorer;
}

interface RequestLog {
  requestId: string;
  principalId?: string;
  operation?: string | null;
  /** The operation's first root field (GraphQL) or endpoint (/v1): a bounded metrics label. */
  field?: string;
  outcome?: string;
}

export function createApp(o: AppOptions) {
  const cors = new Set(o.corsOrigins);
  const addresses = new ClientAddressResolver(o.trustedProxies);
  const wire = createWireDoor({ services: o.services, clock: o.clock, door: o.door, logger: o.logger, maxBodyBytes: o.maxModelRequestBytes });

  async function graphql(req: IncomingMessage, res: ServerResponse, log: RequestLog, ip: string): Promise<void> {
    if (req.method !== "GET" && req.method !== "POST") {
      res.setHeader("allow", "GET, POST, OPTIONS");
      return sendError(res, 405, "BAD_REQUEST", "Use GET or POST", log.requestId);
    }
    const userAgent = header(req, "user-agent");
    const auth = await o.door.check(req.headers.authorization, { requestId: log.requestId, ip, userAgent });
    if (!auth.ok) {
      log.outcome = `unauthenticated:${auth.reason}`;
      if (auth.status === 429) {
        o.services.metrics.rejected(auth.limit);
        res.setHeader("retry-after", String(auth.retryAfterSeconds));
        return sendError(res, 429, "RATE_LIMITED", auth.message, log.requestId);
      }
      res.setHeader("www-authenticate", 'Bearer realm="portcullis"');
      return sendError(res, 401, "UNAUTHENTICATED", "Authentication required", log.requestId);
    }
    log.principalId = auth.principal.id;

    let body: unknown;
    if (req.method === "POST") {
      let raw: Buffer;
      try {
        raw = await readBody(req, o.maxBodyBytes);
      } catch (err) {
        if (err instanceof BodyTooLargeError) {
          closeAfterDraining(req, res);
          return sendError(res, 413, "BAD_REQUEST", `The request body is larger than ${o.maxBodyBytes} bytes`, log.requestId);
        }
        throw err;
      }
      const type = header(req, "content-type") ?? "";
      if (!type.startsWith("application/json")) return sendError(res, 400, "BAD_REQUEST", "Send the request as application/json", log.requestId);
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch {
        return sendError(res, 400, "BAD_REQUEST", "The request body is not valid JSON", log.requestId);
      }
      if (Array.isArray(body)) return sendError(res, 400, "BAD_REQUEST", "Batched requests are not supported", log.requestId);
      if (body === null || typeof body !== "object") return sendError(res, 400, "BAD_REQUEST", "The request body must be a JSON object", log.requestId);
    }

    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined && key !== "authorization") headers.set(key, Array.isArray(value) ? value.join(", ") : value);
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    const context: Context = {
      requestId: log.requestId,
      principal: auth.principal,
      ip,
      userAgent,
      services: o.services,
      operation: { name: null },
    };
    const result = await o.apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method, headers, search: url.search, body },
      context: async () => context,
    });
    log.operation = context.operation.name;
    log.field = context.operation.field ?? "unknown";
    for (const [key, value] of result.headers) res.setHeader(key, value);
    res.statusCode = result.status ?? 200;
    log.outcome = res.statusCode === 200 ? "ok" : `status:${res.statusCode}`;
    if (result.body.kind === "complete") {
      if (res.statusCode === 200 && result.body.string.includes('"errors"')) log.outcome = "errors";
      res.end(result.body.string);
    } else {
      for await (const chunk of result.body.asyncIterator) res.write(chunk);
      res.end();
    }
  }

  async function metrics(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const access = metricsAccess(req, o.metricsToken);
    if (access === "unauthenticated") {
      res.setHeader("www-authenticate", 'Bearer realm="portcullis-metrics"');
      return sendError(res, 401, "UNAUTHENTICATED", "Send the metrics token as the bearer", requestId);
    }
    if (access === "forbidden") return sendError(res, 403, "FORBIDDEN", "Metrics are served to this machine only; set PORTCULLIS_METRICS_TOKEN to serve them elsewhere", requestId);
    if (req.method !== "GET") {
      res.setHeader("allow", "GET");
      return sendError(res, 405, "BAD_REQUEST", "Use GET", requestId);
    }
    const text = await o.services.metrics.text();
    res.statusCode = 200;
    res.setHeader("content-type", o.services.metrics.contentType);
    res.setHeader("cache-control", "no-store");
    res.end(text);
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const log: RequestLog = { requestId: newId("Request") };
    const ip = addresses.resolve(req);
    res.setHeader("x-request-id", log.requestId);
    setSecurityHeaders(res, o.tls);
    const path = (req.url ?? "/").split("?")[0];
    try {
      if (path === "/healthz") {
        sendJson(res, 200, { status: "ok" });
      } else if (path === "/readyz") {
        const ready = o.ready();
        sendJson(res, ready ? 200 : 503, { status: ready ? "ready" : "not ready" });
      } else if (path === "/metrics") {
        await metrics(req, res, log.requestId);
      } else if (path === "/graphql") {
        const corsAllowed = applyCors(req, res, cors);
        if (req.method === "OPTIONS") {
          res.statusCode = corsAllowed ? 204 : 403;
          res.end();
        } else {
          await graphql(req, res, log, ip);
        }
      } else if (isWirePath(path)) {
        await wire(req, res, path, log, ip);
      } else if (o.explorer && isExplorerPath(path)) {
        await o.explorer(req, res, path, log.requestId);
      } else {
        sendError(res, 404, "NOT_FOUND", "No such endpoint", log.requestId);
      }
    } catch (err) {
      o.logger.error({ requestId: log.requestId, err: { type: (err as Error).name, message: (err as Error).message, stack: (err as Error).stack } }, "request failed");
      if (!res.headersSent) sendError(res, 500, "INTERNAL_SERVER_ERROR", "Internal server error", log.requestId);
      else res.destroy();
      log.outcome = "internal_error";
    } finally {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const door = doorOf(path);
      const field = door === "graphql" ? (log.field ?? "none") : door === "v1" ? wireEndpoint(path) : door === "other" ? "none" : path.slice(1);
      o.services.metrics.request(door, field, res.statusCode, log.outcome === "errors", durationMs / 1000);
      if (res.statusCode >= 400 && (door === "graphql" || door === "v1" || door === "other")) o.abuse.failed(ip);
      o.logger.info(
        { requestId: log.requestId, method: req.method, path, status: res.statusCode, durationMs: Math.round(durationMs * 100) / 100, operation: log.operation, principalId: log.principalId, outcome: log.outcome ?? "ok", ip },
        "request",
      );
    }
  };
}

function doorOf(path: string): MetricsDoor {
  if (path === "/graphql") return "graphql";
  if (isWirePath(path)) return "v1";
  if (path === "/healthz" || path === "/readyz") return "health";
  return path === "/metrics" ? "metrics" : "other";
}

/** A known endpoint's name; anything else under /v1/ is one label, whatever was typed. */
function wireEndpoint(path: string): string {
  return path === "/v1/chat/completions" || path === "/v1/embeddings" || path === "/v1/models" ? path.slice(4) : "unknown";
}

function header(req: IncomingMessage, name: string): string | null {
  const v = req.headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? null;
}
