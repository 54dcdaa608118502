// The brute-force brake: after PORTCULLIS_AUTH_FAILURE_LIMIT failures from one address within
// the window, further failures answer 429 RATE_LIMITED until the lockout passes; valid
// credentials keep working throughout.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "../harness/server.js";

let t: TestServer;
beforeAll(async () => {
  t = await startServer({ env: { PORTCULLIS_AUTH_FAILURE_LIMIT: "3", PORTCULLIS_AUTH_FAILURE_WINDOW_SECONDS: "60", PORTCULLIS_AUTH_LOCKOUT_SECONDS: "300" } });
});
afterAll(() => t.stop());

const BAD = `pcl_${"A".repeat(22)}_${"B".repeat(38)}`;

async function attempt(token: string) {
  const res = await fetch(`${t.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: "{ viewer { principalId } }" }),
  });
  return { status: res.status, retryAfter: res.headers.get("retry-after"), body: await res.json() };
}

describe("failed authentication limit", () => {
  it("locks an address out after the limit, lets valid keys through, and expires with the clock", async () => {
    for (let i = 0; i < 3; i++) expect((await attempt(BAD)).status).toBe(401);
    const locked = await attempt(BAD);
    expect(locked.status).toBe(429);
    expect(locked.body.errors[0].extensions.code).toBe("RATE_LIMITED");
    expect(Number(locked.retryAfter)).toBe(300);
    // Still locked a little later, with a shorter wait.
    t.clock.advance(100_000);
    const later = await attempt(BAD);
    expect(later.status).toBe(429);
    expect(Number(later.retryAfter)).toBe(200);
    // Valid credentials are never refused by the brake.
    expect((await attempt(t.ownerKey)).status).toBe(200);
    t.clock.advance(200_000);
    expect((await attempt(BAD)).status).toBe(401);
  });

  it("counts the failures of the last window, also across a window boundary", async () => {
    // From a window boundary on, so that the sliding window's weights are exact.
    t.clock.set(new Date(Math.ceil((t.clock.now().getTime() + 600_000) / 60_000) * 60_000));
    t.clock.advance(54_000);
    for (let i = 0; i < 3; i++) expect((await attempt(BAD)).status).toBe(401);
    // 6 s into the next window, 90% of the last one still counts: 2.7 + 1 is over the limit of 3.
    t.clock.advance(12_000);
    expect((await attempt(BAD)).status).toBe(429);
    // Once the lockout and two windows have passed, nothing of them remains.
    t.clock.advance(420_000);
    for (let i = 0; i < 3; i++) expect((await attempt(BAD)).status).toBe(401);
    expect((await attempt(BAD)).status).toBe(429);
    t.clock.advance(600_000);
  });

  it("a locked-out address answers every bad key alike: nothing tells a real key from a made-up one", async () => {
    t.clock.advance(600_000);
    for (let i = 0; i < 4; i++) await attempt(BAD);
    const made = await attempt(`pcl_${"C".repeat(22)}_${"D".repeat(38)}`);
    const flipped = await attempt(t.ownerKey.slice(0, -1) + (t.ownerKey.endsWith("A") ? "B" : "A"));
    for (const r of [made, flipped]) delete r.body.errors[0].extensions.requestId;
    expect(made).toEqual(flipped);
    expect(made.status).toBe(429);
    t.clock.advance(600_000);
  });

  it("does not audit the failures of a locked-out address, so a flood cannot grow the audit log", async () => {
    t.clock.advance(600_000);
    const { formatApiKey } = await import("../../src/crypto/api-key-format.js");
    const known = formatApiKey("ak_" + t.ownerKey.slice(4, 26), "Z".repeat(32));
    const count = async () =>
      (await t.client(t.ownerKey).data("{ auditEvents(first: 100, filter: {action: \"authenticate\"}) { nodes { id } } }")).auditEvents.nodes.length;
    const before = await count();
    for (let i = 0; i < 3; i++) expect((await attempt(known)).status).toBe(401);
    for (let i = 0; i < 20; i++) expect((await attempt(known)).status).toBe(429);
    expect((await count()) - before).toBe(4);
    t.clock.advance(600_000);
  });
});

describe("address buckets", () => {
  it("counts an IPv6 /64 as one address: rotating through it buys no more attempts", async () => {
    const proxied = await startServer({ env: { PORTCULLIS_AUTH_FAILURE_LIMIT: "3", PORTCULLIS_TRUSTED_PROXIES: "127.0.0.1" } });
    try {
      const from = async (address: string) =>
        (
          await fetch(`${proxied.url}/graphql`, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${BAD}`, "x-forwarded-for": address },
            body: JSON.stringify({ query: "{ viewer { principalId } }" }),
          })
        ).status;
      for (let i = 1; i <= 3; i++) expect(await from(`2001:db8:1:2::${i}`)).toBe(401);
      expect(await from("2001:db8:1:2:ffff::9")).toBe(429);
      expect(await from("2001:db8:1:3::1")).toBe(401);
      expect(await from("192.0.2.1")).toBe(401);
    } finally {
      await proxied.stop();
    }
  });
});
