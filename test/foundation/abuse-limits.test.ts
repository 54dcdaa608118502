// Abuse limits: failing requests per address (on by default), requests per principal (when
// configured), each answering RATE_LIMITED with retry-after, just under and just over the limit,
// on the injected clock. While one address floods the server, another is served.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { seed } from "../harness/factories.js";
import { startServer, type TestServer } from "../harness/server.js";

const MINUTE = 60_000;
const A = "198.51.100.1";
const B = "198.51.100.2";

/** Puts the clock at the start of a minute, so that the sliding window holds exactly what the test sends. */
const atMinuteStart = (t: TestServer) => t.clock.set(new Date(Math.ceil(t.clock.now().getTime() / MINUTE) * MINUTE + MINUTE));

async function graphql(t: TestServer, from: string, query: string, token = t.ownerKey) {
  const res = await fetch(`${t.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}`, "x-forwarded-for": from },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, retryAfter: res.headers.get("retry-after"), body: (await res.json()) as { errors?: { message: string; extensions: { code: string } }[] } };
}

const FAILING = "{ noSuchField }";
const VALID = "{ viewer { kind } }";

describe("failing requests per address", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({ env: { PORTCULLIS_ADDRESS_FAILURE_LIMIT: "5", PORTCULLIS_TRUSTED_PROXIES: "127.0.0.1" } });
    atMinuteStart(t);
  });
  afterAll(() => t.stop());

  it("is on by default, at 300 a minute; the principal limit is off", () => {
    expect(loadConfig({}).abuse).toEqual({ addressFailuresPerMinute: 300, principalRequestsPerMinute: null });
  });

  it("serves an address just under its limit, refuses it just over, and forgives it as the minute passes", async () => {
    for (let i = 0; i < 4; i++) expect((await graphql(t, A, FAILING)).status).toBe(400);
    expect((await graphql(t, A, VALID)).status).toBe(200);
    expect((await graphql(t, A, FAILING)).status).toBe(400); // the fifth failure
    const refused = await graphql(t, A, VALID);
    expect(refused.status).toBe(429);
    expect(refused.body.errors?.[0]).toMatchObject({ message: "Too many failing requests from this address", extensions: { code: "RATE_LIMITED" } });
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    // The wire format door is the same door.
    const wire = await fetch(`${t.url}/v1/models`, { headers: { authorization: `Bearer ${t.ownerKey}`, "x-forwarded-for": A } });
    expect(wire.status).toBe(429);
    expect(((await wire.json()) as { error: { code: string } }).error.code).toBe("rate_limit_exceeded");
    // Another address is not touched.
    expect((await graphql(t, B, VALID)).status).toBe(200);
    t.clock.advance(2 * MINUTE);
    expect((await graphql(t, A, VALID)).status).toBe(200);
  });

  it("keeps serving another address while one floods the server", async () => {
    atMinuteStart(t);
    t.clock.advance(5 * MINUTE);
    const flood = Array.from({ length: 300 }, () => graphql(t, A, FAILING));
    const others = Array.from({ length: 30 }, () => graphql(t, B, VALID));
    const [flooded, served] = await Promise.all([Promise.all(flood), Promise.all(others)]);
    expect(served.every((r) => r.status === 200)).toBe(true);
    expect(flooded.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(250);
    expect(flooded.every((r) => r.status === 400 || r.status === 429)).toBe(true);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/portcullis_limit_rejections_total\{limit="address_rate"\} \d+/);
  });
});

describe("requests per principal, when configured", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({ env: { PORTCULLIS_PRINCIPAL_RATE_LIMIT: "3" } });
    atMinuteStart(t);
  });
  afterAll(() => t.stop());

  it("serves a principal just under its limit, refuses it just over, and not another principal", async () => {
    const other = seed(t).apiKey("viewer");
    for (let i = 0; i < 3; i++) expect((await graphql(t, "127.0.0.1", VALID)).status).toBe(200);
    const refused = await graphql(t, "127.0.0.1", VALID);
    expect(refused.status).toBe(429);
    expect(refused.body.errors?.[0]).toMatchObject({ message: "Too many requests from this principal", extensions: { code: "RATE_LIMITED" } });
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect((await graphql(t, "127.0.0.1", VALID, other.token)).status).toBe(200);
    t.clock.advance(2 * MINUTE);
    expect((await graphql(t, "127.0.0.1", VALID)).status).toBe(200);
  });

  it("refuses a bad value of either setting at start-up", () => {
    expect(() => loadConfig({ PORTCULLIS_PRINCIPAL_RATE_LIMIT: "0" })).toThrow(/PORTCULLIS_PRINCIPAL_RATE_LIMIT/);
    expect(() => loadConfig({ PORTCULLIS_ADDRESS_FAILURE_LIMIT: "many" })).toThrow(/PORTCULLIS_ADDRESS_FAILURE_LIMIT/);
  });
});
