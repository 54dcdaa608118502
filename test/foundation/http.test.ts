import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startServer, type TestServer } from "../harness/server.js";

let t: TestServer;
beforeAll(async () => {
  t = await startServer({ env: { PORTCULLIS_CORS_ORIGINS: "https://console.example.com", PORTCULLIS_MAX_BODY_BYTES: "4096" } });
});
afterAll(() => t.stop());

const post = (body: string, headers: Record<string, string> = {}) =>
  fetch(`${t.url}/graphql`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${t.ownerKey}`, ...headers }, body });

describe("HTTP surface", () => {
  it("answers /healthz and /readyz with security headers and a request ID", async () => {
    for (const path of ["/healthz", "/readyz"]) {
      const res = await fetch(`${t.url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-request-id")).toMatch(/^req_[0-9A-Za-z]{22}$/);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.headers.get("strict-transport-security")).toBeNull();
    }
  });

  it("answers an unknown path with 404 NOT_FOUND", async () => {
    const res = await fetch(`${t.url}/admin`);
    expect(res.status).toBe(404);
    expect((await res.json()).errors[0].extensions.code).toBe("NOT_FOUND");
  });

  it("every error carries the same request ID as the header", async () => {
    const res = await t.client(t.ownerKey).query("{ node(id: \"ws_0000000000000000000000\") { id } }");
    expect(res.body.errors?.[0].extensions.code).toBe("NOT_FOUND");
    expect(res.body.errors?.[0].extensions.requestId).toBe(res.headers.get("x-request-id"));
  });

  it("refuses malformed JSON with 400 BAD_REQUEST", async () => {
    const res = await post("{not json");
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.errors[0].extensions.code).toBe("BAD_REQUEST");
    expect(body.errors[0].extensions.requestId).toBe(res.headers.get("x-request-id"));
  });

  it("refuses batched requests with 400 BAD_REQUEST", async () => {
    const res = await post(JSON.stringify([{ query: "{ viewer { principalId } }" }, { query: "{ viewer { kind } }" }]));
    expect(res.status).toBe(400);
    expect((await res.json()).errors[0].extensions.code).toBe("BAD_REQUEST");
  });

  it("refuses a body over the limit with 413", async () => {
    const res = await post(JSON.stringify({ query: "{ viewer { principalId } }", variables: { pad: "x".repeat(5000) } }));
    expect(res.status).toBe(413);
  });

  it("lets a client still sending a 10 MB body receive its 413 (RFC 9112, 9.6), then closes", async () => {
    // A Node client (undici) writes the whole body before it reads: a socket closed at once would reset it.
    const res = await post(JSON.stringify({ query: "{ viewer { principalId } }", variables: { pad: "x".repeat(10 * 1024 * 1024) } }));
    expect(res.status).toBe(413);
    expect(res.headers.get("connection")).toBe("close");
    expect((await res.json()).errors[0]).toMatchObject({ message: "The request body is larger than 4096 bytes", extensions: { code: "BAD_REQUEST" } });
    // The server goes on serving.
    expect((await post(JSON.stringify({ query: "{ viewer { kind } }" }))).status).toBe(200);
  });

  it("refuses a GET mutation and a GET without the CSRF header", async () => {
    const q = encodeURIComponent("mutation { createWorkspace(input: {name: \"x\"}) { id } }");
    const res = await fetch(`${t.url}/graphql?query=${q}`, { headers: { authorization: `Bearer ${t.ownerKey}`, "apollo-require-preflight": "1" } });
    expect(res.status).toBe(405);
    const csrf = await fetch(`${t.url}/graphql?query=${encodeURIComponent("{ viewer { kind } }")}`, { headers: { authorization: `Bearer ${t.ownerKey}` } });
    expect(csrf.status).toBe(400);
    const ok = await fetch(`${t.url}/graphql?query=${encodeURIComponent("{ viewer { kind } }")}`, { headers: { authorization: `Bearer ${t.ownerKey}`, "apollo-require-preflight": "1" } });
    expect(ok.status).toBe(200);
  });

  it("allows CORS for configured origins only", async () => {
    const allowed = await fetch(`${t.url}/graphql`, { method: "OPTIONS", headers: { origin: "https://console.example.com", "access-control-request-method": "POST" } });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://console.example.com");
    const other = await fetch(`${t.url}/graphql`, { method: "OPTIONS", headers: { origin: "https://evil.example.com", "access-control-request-method": "POST" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("answers every kind of bad credential with one identical 401 body", async () => {
    const valid = t.ownerKey;
    const flipped = valid.slice(0, -1) + (valid.endsWith("A") ? "B" : "A");
    const cases: (string | undefined)[] = [
      undefined,
      "",
      "Bearer",
      "Basic dXNlcjpwYXNz",
      `Bearer ${flipped}`,
      `Bearer ${valid}x`,
      `Bearer pcl_' OR 1=1 --`,
      `Bearer ${"a".repeat(10_000)}`,
      `bearer ${valid}`,
    ];
    const bodies = new Set<string>();
    for (const authorization of cases) {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (authorization !== undefined) headers.authorization = authorization;
      const res = await fetch(`${t.url}/graphql`, { method: "POST", headers, body: JSON.stringify({ query: "{ viewer { principalId } }" }) });
      expect(res.status).toBe(401);
      const body = await res.json();
      expect(body.errors[0].extensions.requestId).toBe(res.headers.get("x-request-id"));
      delete body.errors[0].extensions.requestId;
      bodies.add(JSON.stringify(body));
    }
    expect([...bodies]).toEqual([JSON.stringify({ errors: [{ message: "Authentication required", extensions: { code: "UNAUTHENTICATED" } }] })]);
  });

  it("answers 401 before reading the document: a broken body still gets 401", async () => {
    const res = await fetch(`${t.url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: "{{{{" });
    expect(res.status).toBe(401);
  });

  it("logs one line per request with operation, principal, duration and outcome, and no Authorization header", async () => {
    await t.client(t.ownerKey).query("query WhoAmI { viewer { principalId } }");
    // The line is written when the response has finished, just after the client has it.
    const line = await vi.waitFor(() => {
      const found = t.logs.map((l) => JSON.parse(l)).find((l) => l.msg === "request" && l.operation === "WhoAmI");
      if (!found) throw new Error("no log line yet: " + t.logs.slice(-3).join(""));
      return found;
    });
    expect(line).toMatchObject({ method: "POST", path: "/graphql", status: 200, outcome: "ok" });
    expect(line.principalId).toMatch(/^ak_/);
    expect(typeof line.durationMs).toBe("number");
    expect(line.requestId).toMatch(/^req_/);
    expect(t.logs.join("\n")).not.toContain(t.ownerKey);
  });
});
