// GraphQL subscriptions over WebSocket: the upgrade, authentication in connection_init, the
// per-connection limits, validation and masking like HTTP, and stopping the service's stream
// when the client goes away. The service's stream is a fake here (it is swapped on the running
// server's InvokeService), so that the transport is tested on its own.
import { eq } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Context } from "../../src/context.js";
import { generateApiKey } from "../../src/crypto/api-key-format.js";
import { workspaces } from "../../src/db/schema.js";
import { AppError } from "../../src/errors.js";
import { newId } from "../../src/ids.js";
import { seed } from "../harness/factories.js";
import { MOCK_COMPLETION_TOKENS, MOCK_PROMPT_TOKENS, startMockProvider, type MockProvider } from "../harness/mock-provider.js";
import { startServer, type TestServer } from "../harness/server.js";
import { errorsOf, rawSocket, refusedUpgrade, subscribe, wsClient, type WsSession } from "../harness/ws-client.js";
import { REVOKE_KEY } from "../identity/helpers.js";
import { hello, PRIVATE_NETWORK, providerKey } from "../invoke/helpers.js";

const STREAM = `subscription Stream($input: InvokeModelInput!) {
  invokeModelStream(input: $input) { id delta finishReason usage { promptTokens completionTokens totalTokens } } }`;
const INPUT = { input: { virtualKey: "some-key", model: "gpt-test", messages: [{ role: "USER", content: "Hello" }] } };
const APP_ORIGIN = "https://app.example.com";

interface Chunk {
  id: string;
  delta: string;
  finishReason: string | null;
  usage: { promptTokens: number; completionTokens: number; totalTokens: number } | null;
}

/** One call of the fake InvokeService.stream: the test pushes chunks, ends or fails it. */
class FakeCall {
  private pending: Chunk[] = [];
  private wake?: () => void;
  private end?: "done" | Error;
  returned = false;
  constructor(
    readonly meta: Context,
    readonly input: unknown,
    readonly signal: AbortSignal | undefined,
  ) {}

  async *run(): AsyncGenerator<Chunk> {
    try {
      for (;;) {
        while (this.pending.length > 0) yield this.pending.shift()!;
        if (this.end === "done") return;
        if (this.end) throw this.end;
        // Like a provider read: it waits for data and stops when the signal aborts.
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          this.signal?.addEventListener("abort", () => resolve(), { once: true });
        });
        if (this.signal?.aborted) throw this.signal.reason;
      }
    } finally {
      this.returned = true;
    }
  }
  push(...chunks: Chunk[]) {
    this.pending.push(...chunks);
    this.wake?.();
  }
  finish(end: "done" | Error = "done") {
    this.end = end;
    this.wake?.();
  }
}

const chunk = (delta: string, last = false): Chunk => ({
  id: "req_chunk",
  delta,
  finishReason: last ? "stop" : null,
  usage: last ? { promptTokens: 3, completionTokens: 2, totalTokens: 5 } : null,
});

async function until(check: () => boolean, what: string, ms = 3000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let addressCounter = 0;
/** A distinct client address per test (the server trusts the loopback proxy), so that failure counts do not add up across tests. */
const freshAddress = () => `203.0.113.${++addressCounter}`;

function installFakeStream(t: TestServer): FakeCall[] {
  const calls: FakeCall[] = [];
  (t.server.services.invoke as unknown as { stream: unknown }).stream = (meta: Context, input: unknown, signal?: AbortSignal) => {
    const call = new FakeCall(meta, input, signal);
    calls.push(call);
    return call.run();
  };
  return calls;
}

describe("GraphQL over WebSocket", () => {
  let t: TestServer;
  let calls: FakeCall[];
  const sessions: WsSession[] = [];
  const open = (token?: string, options: Parameters<typeof wsClient>[2] = {}) => {
    const s = wsClient(t.url, token, { ...options, headers: { "x-forwarded-for": freshAddress(), ...options.headers } });
    sessions.push(s);
    return s;
  };

  beforeAll(async () => {
    t = await startServer({ env: { PORTCULLIS_TRUSTED_PROXIES: "127.0.0.1", PORTCULLIS_CORS_ORIGINS: APP_ORIGIN, PORTCULLIS_AUTH_FAILURE_LIMIT: "3" } });
  });
  afterAll(async () => {
    await t.stop();
  });
  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.dispose()));
    calls = installFakeStream(t);
  });
  beforeAll(() => {
    calls = installFakeStream(t);
  });

  describe("the upgrade", () => {
    it("is refused on another path, without the graphql-transport-ws subprotocol, and for a browser origin CORS does not allow", async () => {
      const otherPath = await refusedUpgrade(t.url, { path: "/subscriptions" });
      expect(otherPath.status).toBe(404);
      expect(otherPath.body.errors[0].extensions.code).toBe("NOT_FOUND");
      expect(otherPath.body.errors[0].extensions.requestId).toMatch(/^req_/);

      expect((await refusedUpgrade(t.url, { protocols: [] })).status).toBe(400);
      expect((await refusedUpgrade(t.url, { protocols: ["graphql-ws"] })).status).toBe(400);

      const foreign = await refusedUpgrade(t.url, { headers: { origin: "https://evil.example.com" } });
      expect(foreign.status).toBe(403);
      expect(foreign.body.errors[0].extensions.code).toBe("FORBIDDEN");
      expect((await refusedUpgrade(t.url, { headers: { origin: "null" } })).status).toBe(403);
    });

    it("is accepted from an allowed browser origin and from a client that sends no Origin", async () => {
      const browser = open(t.ownerKey, { headers: { origin: APP_ORIGIN } });
      await browser.connected;
      const script = open(t.ownerKey);
      await script.connected;
    });

    it("is refused with 429 past the connections one address may hold; other addresses and freed slots are served", async () => {
      const capped = await startServer({ env: { PORTCULLIS_TRUSTED_PROXIES: "127.0.0.1", PORTCULLIS_WS_CONNECTIONS_PER_ADDRESS: "2" } });
      try {
        const from = (address: string) => ({ headers: { "x-forwarded-for": address } });
        const first = wsClient(capped.url, capped.ownerKey, from("203.0.113.7"));
        const second = wsClient(capped.url, capped.ownerKey, from("203.0.113.7"));
        await Promise.all([first.connected, second.connected]);
        const third = await refusedUpgrade(capped.url, from("203.0.113.7"));
        expect(third.status).toBe(429);
        expect(third.body.errors[0].extensions.code).toBe("RATE_LIMITED");
        expect(third.body.errors[0].message).toBe("At most 2 WebSocket connections may be open from one address");
        // An IPv6 host gets one allowance for its whole /64.
        const v6 = [wsClient(capped.url, capped.ownerKey, from("2001:db8:1:2::1")), wsClient(capped.url, capped.ownerKey, from("2001:db8:1:2::2"))];
        await Promise.all(v6.map((s) => s.connected));
        expect((await refusedUpgrade(capped.url, from("2001:db8:1:2:ffff::3"))).status).toBe(429);
        const elsewhere = wsClient(capped.url, capped.ownerKey, from("198.51.100.9"));
        await elsewhere.connected;
        // A closed connection gives its slot back.
        await first.dispose();
        await first.closed;
        let again = wsClient(capped.url, capped.ownerKey, from("203.0.113.7"));
        // The server may see the close a moment after the client: retry until the slot is free.
        for (let i = 0; i < 50; i++) {
          const outcome = await Promise.race([again.connected.then(() => "open"), again.closed.then(() => "closed")]);
          if (outcome === "open") break;
          again = wsClient(capped.url, capped.ownerKey, from("203.0.113.7"));
        }
        await again.connected;
        await Promise.all([second, again, elsewhere, ...v6].map((s) => s.dispose()));
      } finally {
        await capped.stop();
      }
    });

    it("is refused once the server is closing", async () => {
      const other = await startServer();
      const session = wsClient(other.url, other.ownerKey);
      await session.connected;
      const stopping = other.stop();
      expect(await session.closed).toEqual({ code: 1001, reason: "Server shutting down" });
      await stopping;
    });
  });

  describe("authentication in connection_init", () => {
    it("closes with 4401 and the same reason for every cause, never echoing what was sent", async () => {
      const forged = generateApiKey(newId("ApiKey")).token;
      const [, ownerKeyId] = /^pcl_([^_]+)_/.exec(t.ownerKey) ?? [];
      const wrongSecret = ownerKeyId ? t.ownerKey.slice(0, -6) + "AAAAAA" : forged;
      const attempts: (Record<string, unknown> | undefined)[] = [
        undefined,
        {},
        { authorization: "" },
        { authorization: "Bearer" },
        { authorization: "garbage-token-value" },
        { authorization: `Bearer ${forged}` },
        { authorization: `Bearer ${wrongSecret}` },
        { authorization: "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl" },
        { authorization: 42 },
        { Authorization: `Basic ${Buffer.from("a:b").toString("base64")}` },
      ];
      for (const connectionParams of attempts) {
        const session = open(undefined, { connectionParams: connectionParams ?? {} });
        const closed = await session.closed;
        expect(closed).toEqual({ code: 4401, reason: "Unauthorized" });
      }
      // Nothing of the token is in the logs either.
      expect(t.logs.join("")).not.toContain(forged);
    });

    it("accepts the owner key, under authorization or Authorization", async () => {
      const lower = open(undefined, { connectionParams: { authorization: `Bearer ${t.ownerKey}` } });
      await lower.connected;
      const upper = open(undefined, { connectionParams: { Authorization: `Bearer ${t.ownerKey}` } });
      await upper.connected;
    });

    it("rejects a subscribe sent before connection_init was acknowledged", async () => {
      const raw = rawSocket(t.url, { headers: { "x-forwarded-for": freshAddress() } });
      await raw.opened;
      raw.send({ id: "1", type: "subscribe", payload: { query: STREAM, variables: INPUT } });
      expect(await raw.closed).toEqual({ code: 4401, reason: "Unauthorized" });
      expect(calls).toHaveLength(0);
    });

    it("closes with 4429 once the address is locked out (forwarded address from the trusted proxy)", async () => {
      const address = freshAddress();
      const bad = { connectionParams: { authorization: "Bearer nope" }, headers: { "x-forwarded-for": address } };
      // PORTCULLIS_AUTH_FAILURE_LIMIT=3: three failures are answered 4401, the next ones 4429.
      for (let i = 0; i < 3; i++) expect(await open(undefined, bad).closed).toEqual({ code: 4401, reason: "Unauthorized" });
      expect(await open(undefined, bad).closed).toEqual({ code: 4429, reason: "Too many failed authentications" });
      expect(await open(undefined, bad).closed).toEqual({ code: 4429, reason: "Too many failed authentications" });
      // Another address is not affected.
      expect(await open(undefined, { connectionParams: bad.connectionParams }).closed).toEqual({ code: 4401, reason: "Unauthorized" });
    });

    it("closes a connection that sends no connection_init", async () => {
      const other = await startServer({ env: { PORTCULLIS_WS_INIT_TIMEOUT_SECONDS: "0.2" } });
      try {
        const raw = rawSocket(other.url);
        await raw.opened;
        expect(await raw.closed).toEqual({ code: 4408, reason: "Connection initialisation timeout" });
      } finally {
        await other.stop();
      }
    });
  });

  describe("subscriptions", () => {
    it("stream the service's chunks with the context HTTP resolvers see", async () => {
      const session = open(t.ownerKey, { headers: { "user-agent": "stream-test/1.0", "x-forwarded-for": "198.51.100.7" } });
      const first = subscribe(session, STREAM, INPUT);
      await until(() => calls.length === 1, "the stream to start");
      calls[0].push(chunk("Hel"), chunk("lo"));
      await first.received(2);
      calls[0].push(chunk("!", true));
      calls[0].finish();
      await first.ended;
      expect(first.completed).toBe(true);
      expect(first.results.map((r) => r.data?.invokeModelStream.delta)).toEqual(["Hel", "lo", "!"]);
      expect(first.results[2].data?.invokeModelStream).toEqual({ id: "req_chunk", delta: "!", finishReason: "stop", usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 } });

      const second = subscribe(session, STREAM, INPUT);
      await until(() => calls.length === 2, "the second stream to start");
      calls[1].finish();
      await second.ended;

      const [a, b] = calls;
      expect(a.meta.principal.id).toBe(t.server.bootstrap?.ownerApiKeyId);
      expect(a.meta.principal.organizationId).toBe(t.organizationId);
      expect(a.meta.ip).toBe("198.51.100.7");
      expect(a.meta.userAgent).toBe("stream-test/1.0");
      expect(a.meta.operation).toEqual({ name: "Stream" });
      expect(a.meta.requestId).toMatch(/^req_/);
      expect(b.meta.requestId).toMatch(/^req_/);
      expect(a.meta.requestId).not.toBe(b.meta.requestId);
      expect(a.input).toEqual(INPUT.input);
      expect(t.logs.some((l) => l.includes(a.meta.requestId) && l.includes('"msg":"subscription"'))).toBe(true);
    });

    it("FORBIDDEN without MODEL_INVOKE, before the service is called", async () => {
      const viewer = seed(t).apiKey("viewer");
      const session = open(viewer.token);
      await session.connected;
      const sub = subscribe(session, STREAM, INPUT);
      await sub.ended;
      const errors = errorsOf(sub);
      expect(errors).toHaveLength(1);
      expect(errors[0].extensions?.code).toBe("FORBIDDEN");
      expect(errors[0].extensions?.requestId).toMatch(/^req_/);
      expect(calls).toHaveLength(0);
    });

    it("refuse one more subscription than the per-connection limit; the others keep running", async () => {
      const session = open(t.ownerKey);
      const running = [1, 2, 3, 4].map(() => subscribe(session, STREAM, INPUT));
      await until(() => calls.length === 4, "four streams");
      const fifth = subscribe(session, STREAM, INPUT);
      await fifth.ended;
      const [error] = errorsOf(fifth);
      expect(error.extensions?.code).toBe("RATE_LIMITED");
      expect(error.extensions?.requestId).toMatch(/^req_/);
      expect(calls).toHaveLength(4);

      for (const call of calls) call.push(chunk("still here"));
      await Promise.all(running.map((r) => r.received(1)));
      // One ends; there is room for one more.
      calls[0].finish();
      await running[0].ended;
      const again = subscribe(session, STREAM, INPUT);
      await until(() => calls.length === 5, "a stream in the freed place");
      calls[4].push(chunk("ok"));
      await again.received(1);
    });

    it("accept only subscriptions: queries and mutations go over HTTP", async () => {
      const session = open(t.ownerKey);
      for (const query of [`{ __typename }`, `query Q { viewer { __typename } }`, `mutation { createWorkspace(input: { name: "over-the-socket" }) { id } }`]) {
        const sub = subscribe(session, query);
        await sub.ended;
        const errors = errorsOf(sub);
        expect(errors).toHaveLength(1);
        expect(errors[0].extensions?.code).toBe("BAD_REQUEST");
        expect(errors[0].message).toContain("HTTP");
        expect(sub.results.filter((r) => r.data)).toHaveLength(0);
      }
      expect(t.server.database.db.select().from(workspaces).where(eq(workspaces.name, "over-the-socket")).all()).toHaveLength(0);
      expect(calls).toHaveLength(0);
    });

    it("apply HTTP's validation rules, token limit and masking", async () => {
      const session = open(t.ownerKey);
      const codeOf = async (query: string, variables?: Record<string, unknown>) => {
        const sub = subscribe(session, query, variables);
        await sub.ended;
        const errors = errorsOf(sub);
        for (const e of errors) expect(e.extensions?.requestId).toMatch(/^req_/);
        return errors;
      };
      const secret = "pcl_leakedSecretValue1234567890";
      const syntax = await codeOf(`subscription { invokeModelStream(input: ${secret}`);
      expect(syntax[0].extensions?.code).toBe("GRAPHQL_PARSE_FAILED");
      expect(JSON.stringify(syntax)).not.toContain(secret);

      const tokens = await codeOf(`subscription { invokeModelStream(input: { messages: [] }) { ${"id ".repeat(2100)} } }`);
      expect(tokens[0].extensions?.code).toBe("GRAPHQL_PARSE_FAILED");

      const aliases = Array.from({ length: 16 }, (_, i) => `a${i}: id`).join(" ");
      const tooMany = await codeOf(`subscription { invokeModelStream(input: { messages: [] }) { ${aliases} } }`);
      expect(tooMany[0].extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");

      const unknown = await codeOf(`subscription { invokeModelStream(input: { messages: [] }) { nope } }`);
      expect(unknown[0].extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");

      const badVariable = await codeOf(STREAM, { input: { messages: [{ role: secret, content: "x" }] } });
      expect(badVariable[0].extensions?.code).toBe("BAD_USER_INPUT");
      expect(JSON.stringify(badVariable)).not.toContain(secret);

      const twoRoots = await codeOf(`subscription { a: invokeModelStream(input: { messages: [] }) { id } b: invokeModelStream(input: { messages: [] }) { id } }`);
      expect(twoRoots[0].extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
      expect(calls).toHaveLength(0);
    });

    it("mask an unexpected failure of the stream; keep a coded one", async () => {
      const session = open(t.ownerKey);
      const coded = subscribe(session, STREAM, INPUT);
      await until(() => calls.length === 1, "the stream");
      calls[0].push(chunk("a"));
      await coded.received(1);
      calls[0].finish(new AppError("PROVIDER_ERROR", "The provider failed"));
      await coded.ended;
      const [providerError] = errorsOf(coded);
      expect(providerError.extensions).toEqual({ code: "PROVIDER_ERROR", requestId: calls[0].meta.requestId });

      const unexpected = subscribe(session, STREAM, INPUT);
      await until(() => calls.length === 2, "the stream");
      calls[1].finish(new Error("database password is hunter2"));
      await unexpected.ended;
      const [internal] = errorsOf(unexpected);
      expect(internal).toEqual({ message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR", requestId: calls[1].meta.requestId } });
    });

    it("complete from the client reaches the service: its signal aborts and its generator returns", async () => {
      const session = open(t.ownerKey);
      const sub = subscribe(session, STREAM, INPUT);
      await until(() => calls.length === 1, "the stream");
      calls[0].push(chunk("a"));
      await sub.received(1);
      // The generator now waits on its "provider"; complete must reach it there.
      sub.unsubscribe();
      await until(() => calls[0].returned, "the service's generator to return");
      expect(calls[0].signal?.aborted).toBe(true);
    });

    it("a disconnect reaches every running stream", async () => {
      const session = open(t.ownerKey);
      subscribe(session, STREAM, INPUT);
      subscribe(session, STREAM, INPUT);
      await until(() => calls.length === 2, "two streams");
      await session.dispose();
      await until(() => calls.every((c) => c.returned), "the generators to return");
      expect(calls.every((c) => c.signal?.aborted)).toBe(true);
    });

    it("a revoked key starts no new stream on an open connection", async () => {
      const member = seed(t).apiKey("member");
      const session = open(member.token);
      const first = subscribe(session, STREAM, INPUT);
      await until(() => calls.length === 1, "the stream");
      await t.client(t.ownerKey).data(REVOKE_KEY, { id: member.id });
      const second = subscribe(session, STREAM, INPUT);
      expect(await session.closed).toEqual({ code: 4401, reason: "Unauthorized" });
      await second.ended;
      await first.ended;
      expect(calls).toHaveLength(1);
      await until(() => calls[0].returned, "the first stream to stop with the connection");
    });
  });

  describe("frames", () => {
    it("closes with 1009 on a message over the size limit", async () => {
      const raw = rawSocket(t.url, { headers: { "x-forwarded-for": freshAddress() } });
      await raw.opened;
      raw.send({ type: "connection_init", payload: { authorization: `Bearer ${t.ownerKey}` } });
      expect((await raw.next()).type).toBe("connection_ack");
      raw.send({ id: "1", type: "subscribe", payload: { query: STREAM, variables: { input: { ...INPUT.input, messages: [{ role: "USER", content: "x".repeat(70_000) }] } } } });
      expect((await raw.closed).code).toBe(1009);
      expect(calls).toHaveLength(0);
    });

    it("closes with 4400 on a message that is not graphql-transport-ws", async () => {
      const raw = rawSocket(t.url, { headers: { "x-forwarded-for": freshAddress() } });
      await raw.opened;
      raw.send("not json");
      expect(await raw.closed).toEqual({ code: 4400, reason: "Invalid message received" });
    });
  });
});

describe("GraphQL over WebSocket: idle connections", () => {
  let t: TestServer;
  let calls: FakeCall[];
  beforeAll(async () => {
    t = await startServer({ env: { PORTCULLIS_WS_IDLE_TIMEOUT_SECONDS: "0.3", PORTCULLIS_WS_KEEPALIVE_SECONDS: "0.1" } });
    calls = installFakeStream(t);
  });
  afterAll(async () => {
    await t.stop();
  });

  it("closes a connection with no subscription and no message for the idle timeout", async () => {
    const session = wsClient(t.url, t.ownerKey);
    await session.connected;
    const started = Date.now();
    expect(await session.closed).toEqual({ code: 1000, reason: "Idle timeout" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it("drops a peer that does not answer keep-alive pings", async () => {
    const raw = rawSocket(t.url, { autoPong: false });
    await raw.opened;
    raw.send({ type: "connection_init", payload: { authorization: `Bearer ${t.ownerKey}` } });
    expect((await raw.next()).type).toBe("connection_ack");
    const started = Date.now();
    // Terminated without a close frame, before the idle timeout (0.3 s) would have closed it.
    expect((await raw.closed).code).toBe(1006);
    expect(Date.now() - started).toBeLessThan(300);
  });

  it("keeps a connection open while a subscription runs (its pings answered), and closes it once idle after", async () => {
    const session = wsClient(t.url, t.ownerKey);
    const sub = subscribe(session, STREAM, INPUT);
    await until(() => calls.length === 1, "the stream");
    let closed = false;
    void session.closed.then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 700));
    expect(closed).toBe(false);
    calls[0].push(chunk("done", true));
    calls[0].finish();
    await sub.ended;
    expect(await session.closed).toEqual({ code: 1000, reason: "Idle timeout" });
  });
});

describe("GraphQL over WebSocket: a real stream from the mock provider", () => {
  let t: TestServer;
  let mock: MockProvider;
  beforeAll(async () => {
    t = await startServer({ env: PRIVATE_NETWORK });
    mock = await startMockProvider();
  });
  afterAll(async () => {
    await t.stop();
    await mock.close();
  });
  beforeEach(() => mock.reset());

  it("streams several chunks, then a last one with the finish reason and usage", async () => {
    const key = await providerKey(t, mock.url);
    const session = wsClient(t.url, t.ownerKey);
    const sub = subscribe(session, STREAM, { input: { virtualKey: key.slug, model: "gpt-4o-mini", messages: hello } });
    await sub.ended;
    await session.dispose();
    expect(errorsOf(sub)).toEqual([]);
    expect(sub.completed).toBe(true);
    const chunks = sub.results.map((r) => r.data!.invokeModelStream);
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect(chunks.map((c) => c.delta).join("")).toBe("mock reply to: Hello there");
    for (const c of chunks.slice(0, -1)) expect(c).toMatchObject({ finishReason: null, usage: null });
    expect(chunks.at(-1)).toMatchObject({ finishReason: "stop", usage: { promptTokens: MOCK_PROMPT_TOKENS, completionTokens: MOCK_COMPLETION_TOKENS, totalTokens: MOCK_PROMPT_TOKENS + MOCK_COMPLETION_TOKENS } });
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(mock.requests[0].stream).toBe(true);
  });

  it("stops the provider call when the client completes mid-stream", async () => {
    const key = await providerKey(t, mock.url);
    mock.enqueue({ kind: "stallStream", afterChunks: 3 });
    const session = wsClient(t.url, t.ownerKey);
    const sub = subscribe(session, STREAM, { input: { virtualKey: key.slug, model: "gpt-4o-mini", messages: hello } });
    await sub.received(1);
    sub.unsubscribe();
    const request = await mock.waitForClose(0);
    expect(request.aborted).toBe(true);
    await session.dispose();
  });

  it("stops the provider call when the client disconnects mid-stream", async () => {
    const key = await providerKey(t, mock.url);
    mock.enqueue({ kind: "stallStream", afterChunks: 3 });
    const session = wsClient(t.url, t.ownerKey);
    const sub = subscribe(session, STREAM, { input: { virtualKey: key.slug, model: "gpt-4o-mini", messages: hello } });
    await sub.received(1);
    await session.dispose();
    const request = await mock.waitForClose(0);
    expect(request.aborted).toBe(true);
  });
});
