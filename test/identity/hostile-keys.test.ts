// Hostile credentials: whatever is wrong with a key, the answer is the same 401 body (apart
// from its request ID), so that nothing tells a made-up key from a revoked one.
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyAuthenticator } from "../../src/auth/api-key-authenticator.js";
import { formatApiKey, newApiKeySecret } from "../../src/crypto/api-key-format.js";
import { newId } from "../../src/ids.js";
import { startServer, type TestServer } from "../harness/server.js";
import { CREATE_KEY, REVOKE_KEY, ROTATE_KEY, identitySeed } from "./helpers.js";

let t: TestServer;
beforeAll(async () => {
  // A high limit: this file is about the shape of refusals, not about the brake.
  t = await startServer({ env: { PORTCULLIS_AUTH_FAILURE_LIMIT: "1000" } });
});
afterAll(() => t.stop());

const QUERY = JSON.stringify({ query: "{ viewer { principalId } }" });

async function refusal(authorization: string) {
  const res = await fetch(`${t.url}/graphql`, { method: "POST", headers: { "content-type": "application/json", authorization }, body: QUERY });
  const text = await res.text();
  const body = JSON.parse(text);
  expect(body.errors[0].extensions.requestId).toBe(res.headers.get("x-request-id"));
  delete body.errors[0].extensions.requestId;
  return { status: res.status, body: JSON.stringify(body), wwwAuthenticate: res.headers.get("www-authenticate"), length: text.length - (res.headers.get("x-request-id")?.length ?? 0) };
}

/** Sends bytes a fetch client would refuse to send. */
function rawRequest(authorization: string): Promise<string> {
  const port = Number(new URL(t.url).port);
  const req = `POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAuthorization: ${authorization}\r\nContent-Length: ${QUERY.length}\r\nConnection: close\r\n\r\n${QUERY}`;
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1", () => socket.end(Buffer.from(req, "latin1")));
    let out = "";
    socket.on("data", (d) => (out += d.toString("latin1")));
    socket.on("close", () => resolve(out));
    socket.on("error", () => resolve(out));
  });
}

describe("hostile API keys", () => {
  it("all answer 401 UNAUTHENTICATED with one identical body", async () => {
    const s = identitySeed(t);
    const owner = t.client(t.ownerKey);
    const valid = s.apiKey("viewer");
    const flipLast = valid.token.slice(0, -1) + (valid.token.endsWith("A") ? "B" : "A");
    const revoked = s.apiKey("viewer");
    await owner.data(REVOKE_KEY, { id: revoked.id });
    const expiring = s.apiKey("viewer", null, { expiresAt: new Date(t.clock.now().getTime() + 1000) });
    const rotated = (await owner.data(CREATE_KEY, { input: { name: "rotated", roleIds: [] } })).createApiKey;
    await owner.data(ROTATE_KEY, { id: rotated.apiKey.id, grace: 10 });
    t.clock.advance(10_000);

    const tokens = [
      flipLast, // right prefix, wrong checksum
      `pcl_${"A".repeat(22)}_${"B".repeat(38)}`, // right shape, wrong checksum
      formatApiKey(newId("ApiKey"), newApiKeySecret()), // valid checksum, unknown key
      formatApiKey(valid.id, newApiKeySecret()), // valid checksum, known key, wrong secret
      "pcl_' OR '1'='1",
      `pcl_";DROP/**/TABLE/**/api_keys;--`,
      "pcl_'||(SELECT/**/hash/**/FROM/**/api_key_secrets)||'",
      "pcl_%00",
      "pcl_\\u0000\\n",
      `pcl_${"x".repeat(10 * 1024)}`,
      valid.token.replace("pcl_", "PCL_"),
      valid.token.slice(0, 20),
      revoked.token,
      expiring.token,
      rotated.secret,
    ];
    const seen = new Set<string>();
    for (const token of tokens) {
      const r = await refusal(`Bearer ${token}`);
      expect(r.status, token.slice(0, 80)).toBe(401);
      seen.add(JSON.stringify({ ...r }));
    }
    for (const header of ["Basic dXNlcjpwYXNz", `bearer ${valid.token}`, `Bearer  ${valid.token}`, "Bearer", `Bearer ${valid.token} x`]) {
      seen.add(JSON.stringify(await refusal(header)));
    }
    expect([...seen]).toHaveLength(1);
    expect(JSON.parse([...seen][0]).body).toBe(JSON.stringify({ errors: [{ message: "Authentication required", extensions: { code: "UNAUTHENTICATED" } }] }));
    // The database took none of it as SQL, and the valid key still works.
    expect((await t.client(valid.token).query(`{ viewer { principalId } }`)).status).toBe(200);
  });

  it("NUL and line breaks never reach authentication: the HTTP parser refuses them alike, valid key or not", async () => {
    const s = identitySeed(t);
    const valid = s.apiKey("viewer");
    const answers = new Set<string>();
    for (const auth of [`Bearer ${valid.token}\u0000`, `Bearer pcl_\u0000${"A".repeat(60)}`, `Bearer ${valid.token.slice(0, 30)}\n${valid.token.slice(30)}`, `Bearer pcl_a\r\n b`]) {
      const raw = await rawRequest(auth);
      answers.add(raw.replace(/req_[0-9A-Za-z]{22}/g, "req_"));
    }
    expect(answers.size).toBe(1);
    expect([...answers][0]).toMatch(/^HTTP\/1\.1 400 /);
    expect([...answers][0]).not.toContain("principalId");
    expect([...answers][0]).toContain('"code":"BAD_REQUEST"');
    // And the authenticator itself refuses such tokens as malformed, before any lookup.
    const auth = new ApiKeyAuthenticator(t.server.database.db, t.server.services.keys, t.clock, t.server.services.changeMark);
    for (const token of [`${valid.token}\u0000`, `${valid.token.slice(0, -1)}\n`, `\u0000${valid.token.slice(1)}`]) {
      expect(auth.authenticate(token)).toEqual({ ok: false, reason: "malformed" });
    }
  });

  it("records failed authentications of known keys in their organization's audit log", async () => {
    const s = identitySeed(t);
    const key = s.apiKey("viewer");
    await refusal(`Bearer ${formatApiKey(key.id, newApiKeySecret())}`);
    const event = s.lastEvent("authenticate")!;
    expect(event).toMatchObject({ outcome: "DENIED", targetId: key.id, actorId: null });
    expect(JSON.parse(event.details!)).toEqual({ reason: "bad_secret" });
  });
});
