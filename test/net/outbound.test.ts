// The guarded outbound client at connection time: refusals happen before any connection
// (proven by a loopback server that counts them), DNS answers are re-checked when connecting,
// and redirects are not followed.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { EndpointRefusedError, OutboundClient } from "../../src/net/outbound.js";
import { countingServer, fakeDns, type CountingServer, type FakeDns } from "../harness/loopback.js";
import { REFUSED_LITERAL_URLS } from "./notations.js";

let target: CountingServer;
let dns: FakeDns;
let strict: OutboundClient;
let lenient: OutboundClient;

beforeAll(async () => {
  target = await countingServer();
});
afterAll(async () => {
  await strict?.close();
  await lenient?.close();
  await target.close();
});
beforeEach(async () => {
  await strict?.close();
  await lenient?.close();
  dns = fakeDns();
  strict = new OutboundClient({ allowPrivateNetwork: false, resolver: dns.resolver });
  lenient = new OutboundClient({ allowPrivateNetwork: true, resolver: dns.resolver });
});

/** The same URL with the counting server's port, so that a missed refusal would be counted. */
function atTarget(url: string): string {
  const u = new URL(url);
  u.port = String(target.port);
  return u.toString();
}

async function refusal(call: Promise<unknown>): Promise<Error> {
  try {
    await call;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the call to be refused");
}

describe("outbound client", () => {
  it("reaches the counting server when private networks are allowed (the counter works)", async () => {
    dns.set("counter.test", "127.0.0.1");
    const before = target.connections();
    const res = await lenient.request(`http://counter.test:${target.port}/`);
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    expect(target.connections()).toBe(before + 1);
  });

  // Only notations that land on this machine are tried at connection time, so that a broken
  // check could never send traffic anywhere but loopback; every other notation is refused by
  // the same check, as test/net/address-policy.test.ts shows.
  const loopbackNotations = Object.entries(REFUSED_LITERAL_URLS).filter(([name]) => name.startsWith("loopback") || name.startsWith("unspecified"));

  it.each(loopbackNotations)("refuses a %s URL before connecting", async (_name, url) => {
    const before = target.connections();
    const err = await refusal(strict.request(atTarget(url)));
    expect(err).toBeInstanceOf(EndpointRefusedError);
    expect(target.connections()).toBe(before);
  });

  it.each(["127.0.0.1", "::ffff:127.0.0.1", "::ffff:7f00:1", "::1", "0.0.0.0"])(
    "refuses a name that resolves to %s when connecting, before any connection",
    async (address) => {
      dns.set("sneaky.test", address);
      const before = target.connections();
      const err = await refusal(strict.request(`https://sneaky.test:${target.port}/v1/chat/completions`, { method: "POST", body: "{}" }));
      expect(err).toBeInstanceOf(EndpointRefusedError);
      expect(dns.lookups).toContain("sneaky.test");
      expect(target.connections()).toBe(before);
    },
  );

  it("refuses a name that was public when checked and points at loopback when connecting (DNS rebinding)", async () => {
    dns.set("rebind.test", "93.184.216.34");
    await expect(strict.checkEndpoint(`https://rebind.test:${target.port}/v1`)).resolves.toBeInstanceOf(URL);
    dns.set("rebind.test", "127.0.0.1");
    const before = target.connections();
    const err = await refusal(strict.request(`https://rebind.test:${target.port}/v1/models`));
    expect(err).toBeInstanceOf(EndpointRefusedError);
    expect(err.message).toMatch(/loopback/);
    expect(dns.lookups.filter((h) => h === "rebind.test")).toHaveLength(2);
    expect(target.connections()).toBe(before);
  });

  it("refuses a name with one private address among public ones", async () => {
    dns.set("mixed.test", "127.0.0.1", "93.184.216.34");
    const before = target.connections();
    await expect(strict.checkEndpoint("https://mixed.test/")).rejects.toBeInstanceOf(EndpointRefusedError);
    expect(await refusal(strict.request(`https://mixed.test:${target.port}/`))).toBeInstanceOf(EndpointRefusedError);
    expect(target.connections()).toBe(before);
  });

  it("refuses a name that does not resolve", async () => {
    await expect(strict.checkEndpoint("https://nowhere.test/")).rejects.toThrow(/does not resolve/);
  });

  it.each(["10.0.0.5", "172.20.1.1", "192.168.0.10", "100.64.3.3", "169.254.169.254", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "fd00:ec2::254", "fe80::1"])(
    "refuses at check time a name that resolves to %s",
    async (address) => {
      dns.set("internal.test", address);
      await expect(strict.checkEndpoint("https://internal.test/v1")).rejects.toBeInstanceOf(EndpointRefusedError);
    },
  );

  it("does not follow redirects", async () => {
    const elsewhere = await countingServer();
    const redirecting = await countingServer((_req, res) => {
      res.writeHead(302, { location: `http://127.0.0.1:${elsewhere.port}/stolen` });
      res.end("{}");
    });
    try {
      const res = await lenient.request(`http://127.0.0.1:${redirecting.port}/v1`, { method: "POST", headers: { authorization: "Bearer canary" }, body: "{}" });
      expect(res.statusCode).toBe(302);
      await res.body.dump();
      const json = await lenient.getJson(`http://127.0.0.1:${redirecting.port}/.well-known/openid-configuration`);
      expect(json.status).toBe(302);
      expect(redirecting.connections()).toBeGreaterThan(0);
      expect(elsewhere.connections()).toBe(0);
    } finally {
      await redirecting.close();
      await elsewhere.close();
    }
  });
});
