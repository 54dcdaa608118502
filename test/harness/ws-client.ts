// GraphQL over WebSocket for tests: graphql-ws's own client on the `ws` package, and a raw
// socket for what a well-behaved client never sends.
import { createClient, type Client, type ExecutionResult } from "graphql-ws";
import WebSocket from "ws";

export const PROTOCOL = "graphql-transport-ws";

export interface Closed {
  code: number;
  reason: string;
}

export interface WsSession {
  client: Client;
  /** Resolves on connection_ack. */
  connected: Promise<void>;
  /** Resolves when the socket closes, with the server's code and reason. */
  closed: Promise<Closed>;
  dispose(): Promise<void>;
}

export interface WsOptions {
  /** Sent as connection_init's payload; by default { authorization: "Bearer <token>" } when a token is given. */
  connectionParams?: Record<string, unknown>;
  /** Extra headers of the upgrade request (Origin, User-Agent, X-Forwarded-For). */
  headers?: Record<string, string>;
}

function wsUrl(baseUrl: string, path = "/graphql"): string {
  return baseUrl.replace(/^http/, "ws") + path;
}

/** A graphql-ws client that connects at once and never retries. */
export function wsClient(baseUrl: string, token?: string, options: WsOptions = {}): WsSession {
  const headers = options.headers ?? {};
  class HeaderedWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers });
    }
  }
  let resolveConnected!: () => void;
  let resolveClosed!: (c: Closed) => void;
  const connected = new Promise<void>((r) => (resolveConnected = r));
  const closed = new Promise<Closed>((r) => (resolveClosed = r));
  const client = createClient({
    url: wsUrl(baseUrl),
    webSocketImpl: HeaderedWebSocket,
    lazy: false,
    retryAttempts: 0,
    onNonLazyError: () => {},
    connectionParams: options.connectionParams ?? (token !== undefined ? { authorization: `Bearer ${token}` } : undefined),
    on: {
      connected: () => resolveConnected(),
      closed: (event) => {
        const e = event as { code: number; reason: string | Buffer };
        resolveClosed({ code: e.code, reason: String(e.reason) });
      },
    },
  });
  return { client, connected, closed, dispose: () => Promise.resolve(client.dispose()) };
}

export interface Collected<T = any> {
  results: ExecutionResult<T>[];
  /** What the sink's error got: an array of GraphQL errors, or a close event. */
  error?: unknown;
  completed: boolean;
}

/** A running subscription: what arrived so far, and a way to stop it from the client. */
export interface Running<T = any> extends Collected<T> {
  /** Resolves when the server completes or errors the subscription. */
  ended: Promise<void>;
  /** Resolves once n results have arrived. */
  received(n: number): Promise<void>;
  /** Sends complete. */
  unsubscribe(): void;
}

export function subscribe<T = any>(session: WsSession, query: string, variables?: Record<string, unknown>): Running<T> {
  let end!: () => void;
  const waiters: { n: number; resolve: () => void }[] = [];
  const running: Running<T> = {
    results: [],
    completed: false,
    ended: new Promise<void>((r) => (end = r)),
    received: (n) =>
      new Promise<void>((resolve) => {
        if (running.results.length >= n) return resolve();
        waiters.push({ n, resolve });
      }),
    unsubscribe: () => {},
  };
  running.unsubscribe = session.client.subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        running.results.push(result as ExecutionResult<T>);
        for (const w of waiters.filter((w) => running.results.length >= w.n)) w.resolve();
      },
      error: (err) => {
        running.error = err;
        end();
      },
      complete: () => {
        running.completed = true;
        end();
      },
    },
  );
  return running;
}

/** The errors a subscription ended with, whichever way they came (an error message, or a result with errors). */
export function errorsOf(c: Collected): { message: string; extensions?: Record<string, unknown> }[] {
  if (Array.isArray(c.error)) return c.error;
  return c.results.flatMap((r) => (r.errors ?? []) as unknown as { message: string; extensions?: Record<string, unknown> }[]);
}

export interface RawSocket {
  socket: WebSocket;
  opened: Promise<void>;
  closed: Promise<Closed>;
  send(message: unknown): void;
  /** The next message from the server, parsed. */
  next(): Promise<any>;
}

/** A raw WebSocket on the graphql-transport-ws subprotocol (or none, or another path). */
export function rawSocket(baseUrl: string, options: { path?: string; protocols?: string[]; headers?: Record<string, string>; autoPong?: boolean } = {}): RawSocket {
  const socket = new WebSocket(wsUrl(baseUrl, options.path), options.protocols ?? [PROTOCOL], { headers: options.headers, autoPong: options.autoPong ?? true });
  const queue: any[] = [];
  const waiting: ((m: any) => void)[] = [];
  socket.on("message", (data) => {
    const message = JSON.parse(String(data));
    const w = waiting.shift();
    if (w) w(message);
    else queue.push(message);
  });
  socket.on("error", () => {});
  return {
    socket,
    opened: new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("unexpected-response", () => reject(new Error("upgrade refused")));
    }),
    closed: new Promise<Closed>((resolve) => socket.once("close", (code, reason) => resolve({ code, reason: String(reason) }))),
    send: (message) => socket.send(typeof message === "string" ? message : JSON.stringify(message)),
    next: () => new Promise((resolve) => (queue.length > 0 ? resolve(queue.shift()) : waiting.push(resolve))),
  };
}

/** An upgrade the server must refuse before any WebSocket exists: its HTTP status and JSON body. */
export function refusedUpgrade(baseUrl: string, options: { path?: string; protocols?: string[]; headers?: Record<string, string> } = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl(baseUrl, options.path), options.protocols ?? [PROTOCOL], { headers: options.headers });
    socket.on("error", () => {});
    socket.once("open", () => {
      socket.close();
      reject(new Error("the upgrade was accepted"));
    });
    socket.once("unexpected-response", (_req, res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += String(d)));
      res.on("end", () => {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
  });
}
