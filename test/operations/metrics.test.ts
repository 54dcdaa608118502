// /metrics: Prometheus text with requests by door, operation and outcome, latency histograms,
// model attempts by provider, model and status, limit rejections, circuit states and the audit
// chain length; served to loopback peers without forwarding headers, or to the bearer of
// PORTCULLIS_METRICS_TOKEN; never a credential, an organization or a made-up model name.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metricsAccess } from "../../src/metrics/metrics-access.js";
import { startMockProvider, type MockProvider } from "../harness/mock-provider.js";
import { startServer, type TestServer } from "../harness/server.js";
import { hello, INVOKE, PRIVATE_NETWORK, providerKey } from "../invoke/helpers.js";

const TOKEN = "metrics-token-for-tests-0123456789";

async function scrape(t: TestServer, headers: Record<string, string> = {}) {
  const res = await fetch(`${t.url}/metrics`, { headers });
  return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
}

/** The value of one series, by its exact label set. */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2] ? m[2].split(",") : [];
    if (have.length === wanted.length && wanted.every((w) => have.includes(w))) return Number(m[3]);
  }
  return undefined;
}

describe("/metrics without a token: this machine only", () => {
  let t: TestServer;
  let mock: MockProvider;
  let vk: { id: string; slug: string; secret: string };

  beforeAll(async () => {
    t = await startServer({ env: { ...PRIVATE_NETWORK, PORTCULLIS_TRUSTED_PROXIES: "127.0.0.1" } });
    mock = await startMockProvider();
    vk = await providerKey(t, mock.url);
  });
  afterAll(async () => {
    await t.stop();
    await mock.close();
  });

  it("counts requests, model attempts, limit rejections, circuits and audit events", async () => {
    const owner = t.client(t.ownerKey);
    await owner.data(`{ viewer { kind } }`);
    await owner.data(INVOKE, { input: { virtualKey: vk.slug, model: "gpt-4o-mini", messages: hello } });
    // A model no provider serves is counted as "other", not by the name the caller made up.
    mock.enqueue({ kind: "fail", status: 404 });
    await owner.query(INVOKE, { input: { virtualKey: vk.slug, model: "made-up-model-name-7f3a", messages: hello } });
    await t.client("pcl_not_a_key").query(`{ viewer { kind } }`);
    const wire = await fetch(`${t.url}/v1/models`, { headers: { authorization: `Bearer ${t.ownerKey}` } });
    expect(wire.status).toBe(200);

    const m = await scrape(t);
    expect(m.status).toBe(200);
    expect(m.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(value(m.text, "portcullis_requests_total", { door: "graphql", operation: "viewer", outcome: "ok" })).toBe(1);
    expect(value(m.text, "portcullis_requests_total", { door: "graphql", operation: "invokeModel", outcome: "ok" })).toBe(1);
    expect(value(m.text, "portcullis_requests_total", { door: "graphql", operation: "invokeModel", outcome: "errors" })).toBe(1);
    expect(value(m.text, "portcullis_requests_total", { door: "graphql", operation: "none", outcome: "unauthenticated" })).toBe(1);
    expect(value(m.text, "portcullis_requests_total", { door: "v1", operation: "models", outcome: "ok" })).toBe(1);
    // Five: createVirtualKey in the set-up, then the four above.
    expect(value(m.text, "portcullis_request_duration_seconds_count", { door: "graphql" })).toBe(5);
    expect(value(m.text, "portcullis_model_attempts_total", { provider: "OPENAI_COMPATIBLE", model: "gpt-4o-mini", status: "SUCCESS" })).toBe(1);
    expect(value(m.text, "portcullis_model_attempts_total", { provider: "OPENAI_COMPATIBLE", model: "other", status: "FAILED" })).toBe(1);
    expect(m.text).not.toContain("made-up-model-name");
    expect(value(m.text, "portcullis_circuits", { state: "CLOSED" })).toBeGreaterThanOrEqual(1);
    expect(value(m.text, "portcullis_audit_events")).toBeGreaterThanOrEqual(3);
    expect(value(m.text, "portcullis_process_resident_memory_bytes")).toBeGreaterThan(0);
    // Nothing secret or tenant-specific.
    for (const secret of [t.ownerKey, vk.secret, t.organizationId]) expect(m.text).not.toContain(secret);
  });

  it("counts a refusal by a policy's rate limit", async () => {
    const owner = t.client(t.ownerKey);
    const policy = (await owner.data(`mutation($input: CreatePolicyInput!) { createPolicy(input: $input) { id } }`, { input: { name: "one a minute", rateLimit: { requestsPerMinute: 1 } } })).createPolicy;
    await owner.data(`mutation($p: ID!, $t: ID!) { attachPolicy(policyId: $p, targetId: $t) { id } }`, { p: policy.id, t: vk.id });
    const before = value((await scrape(t)).text, "portcullis_limit_rejections_total", { limit: "policy_rate" }) ?? 0;
    await owner.data(INVOKE, { input: { virtualKey: vk.slug, model: "gpt-4o-mini", messages: hello } });
    expect(await owner.errorCode(INVOKE, { input: { virtualKey: vk.slug, model: "gpt-4o-mini", messages: hello } })).toBe("RATE_LIMITED");
    expect(value((await scrape(t)).text, "portcullis_limit_rejections_total", { limit: "policy_rate" })).toBe(before + 1);
  });

  it("refuses a request that came through a proxy, whatever its forwarding headers say", async () => {
    const proxied: Record<string, string>[] = [{ "x-forwarded-for": "127.0.0.1" }, { "x-forwarded-for": "203.0.113.9" }, { forwarded: "for=127.0.0.1" }, { "x-real-ip": "127.0.0.1" }];
    for (const headers of proxied) {
      const m = await scrape(t, headers);
      expect(m.status).toBe(403);
      expect(JSON.parse(m.text)).toMatchObject({ errors: [{ extensions: { code: "FORBIDDEN" } }] });
      expect(m.text).not.toContain("portcullis_requests_total");
    }
  });

  it("is read by GET only", async () => {
    const res = await fetch(`${t.url}/metrics`, { method: "POST" });
    expect(res.status).toBe(405);
  });
});

describe("/metrics with PORTCULLIS_METRICS_TOKEN", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({ env: { PORTCULLIS_METRICS_TOKEN: TOKEN } });
  });
  afterAll(() => t.stop());

  it("needs the token as the bearer, from loopback too; no API key opens it", async () => {
    const wrong: Record<string, string>[] = [{}, { authorization: `Bearer ${TOKEN}x` }, { authorization: `Bearer ${TOKEN.slice(0, -1)}` }, { authorization: TOKEN }, { authorization: `Bearer ${t.ownerKey}` }];
    for (const headers of wrong) {
      const m = await scrape(t, headers);
      expect(m.status).toBe(401);
      expect(m.text).not.toContain("portcullis_");
      expect(m.text).not.toContain(TOKEN);
    }
    const m = await scrape(t, { authorization: `Bearer ${TOKEN}` });
    expect(m.status).toBe(200);
    expect(m.text).toContain("portcullis_requests_total");
    expect(m.text).not.toContain(TOKEN);
    // Through a proxy, the token is what counts.
    expect((await scrape(t, { authorization: `Bearer ${TOKEN}`, "x-forwarded-for": "203.0.113.9" })).status).toBe(200);
  });

  it("refuses to start with a token shorter than 16 characters, without echoing it", async () => {
    await expect(startServer({ env: { PORTCULLIS_METRICS_TOKEN: "short-secret" } })).rejects.toThrow(/PORTCULLIS_METRICS_TOKEN: must be at least 16 characters/);
    await expect(startServer({ env: { PORTCULLIS_METRICS_TOKEN: "short-secret" } })).rejects.not.toThrow(/short-secret/);
  });
});

describe("metricsAccess", () => {
  const req = (remoteAddress: string, headers: Record<string, string> = {}) => ({ socket: { remoteAddress }, headers }) as never;
  it("answers loopback peers without forwarding headers, and nobody else", () => {
    for (const a of ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"]) expect(metricsAccess(req(a), undefined)).toBe("allowed");
    for (const a of ["10.0.0.1", "192.168.1.2", "203.0.113.9", "::ffff:10.0.0.1", "fe80::1", "2001:db8::1", ""]) expect(metricsAccess(req(a), undefined)).toBe("forbidden");
    expect(metricsAccess(req("203.0.113.9", { "x-forwarded-for": "127.0.0.1" }), undefined)).toBe("forbidden");
    expect(metricsAccess(req("10.0.0.1", { authorization: `Bearer ${TOKEN}` }), TOKEN)).toBe("allowed");
    expect(metricsAccess(req("127.0.0.1"), TOKEN)).toBe("unauthenticated");
  });
});
