// Tokens an attacker could present. Every one answers 401 with one identical body, is counted by
// the brute-force brake, and is an audit event of the organization whose issuer and audience it
// names (with a reason word and nothing of the token).
import { exportSPKI, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startOidcIssuer, type OidcIssuer } from "../harness/oidc-issuer.js";
import { startServer, type TestServer } from "../harness/server.js";
import { authenticationEvents, configureSso, present, PRIVATE_NETWORK, UNAUTHENTICATED_BODY } from "./sso-helpers.js";

let t: TestServer;
let issuer: OidcIssuer;
let attacker: OidcIssuer;
let ipCounter = 0;

/** A fresh caller address for each attempt, so that the brute-force brake (limit 5) stays out of the way. */
const nextIp = () => `198.51.100.${++ipCounter}`;
const now = () => Math.floor(t.clock.now().getTime() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

beforeAll(async () => {
  t = await startServer({ env: { ...PRIVATE_NETWORK, PORTCULLIS_TRUSTED_PROXIES: "127.0.0.1", PORTCULLIS_AUTH_FAILURE_LIMIT: "5" } });
  issuer = await startOidcIssuer({ now: () => t.clock.now(), alg: "RS256" });
  attacker = await startOidcIssuer({ now: () => t.clock.now(), alg: "RS256" });
  await configureSso(t.client(t.ownerKey), { issuer: issuer.issuer, audience: issuer.audience, jitProvisioning: true });
  const second = t.createOrganization("Second tenant of the same issuer");
  await configureSso(t.client(second.ownerKey), { issuer: issuer.issuer, audience: "second-app", jitProvisioning: true });
});
afterAll(async () => {
  await t.stop();
  await issuer.stop();
  await attacker.stop();
});

async function expectRefused(token: string, audited: boolean, label: string): Promise<void> {
  const before = authenticationEvents(t).length;
  const attempt = await present(t, token, { ip: nextIp() });
  expect(attempt.status, `${label}: ${attempt.bodyWithoutRequestId}`).toBe(401);
  expect(attempt.bodyWithoutRequestId, label).toBe(UNAUTHENTICATED_BODY);
  const events = authenticationEvents(t).slice(before);
  expect(events.length, label).toBe(audited ? 1 : 0);
  for (const e of events) {
    expect(e, label).toMatchObject({ outcome: "DENIED", actorKind: null, actorId: null });
    expect(Object.keys(e.details), label).toEqual(["reason"]);
    expect(e.details.reason, label).toMatch(/^[a-z_]+$/);
  }
}

describe("forged and invalid tokens", () => {
  it("accepts the genuine token (so that the refusals below are about the forgery)", async () => {
    const attempt = await present(t, await issuer.sign({ sub: "victim" }), { ip: nextIp() });
    expect(attempt.status, attempt.bodyWithoutRequestId).toBe(200);
    expect(attempt.body.data.viewer.kind).toBe("USER");
  });

  it("refuses alg none in any spelling", async () => {
    const [, payload, signature] = (await issuer.sign({ sub: "victim" })).split(".");
    for (const alg of ["none", "None", "NONE", "nOnE"]) {
      await expectRefused(`${b64({ alg, typ: "JWT" })}.${payload}.`, true, `alg ${alg}`);
      await expectRefused(`${b64({ alg, kid: issuer.key.kid })}.${payload}.${signature}`, true, `alg ${alg} with a signature`);
    }
  });

  it("refuses HS256 signed with the issuer's public key as the HMAC secret", async () => {
    const payload = { iss: issuer.issuer, aud: issuer.audience, sub: "victim", iat: now(), nbf: now(), exp: now() + 300 };
    const secrets = [JSON.stringify(issuer.key.publicJwk), await exportSPKI(issuer.key.publicKey), issuer.key.publicJwk.n!];
    for (const secret of secrets) {
      for (const header of [{ alg: "HS256", kid: issuer.key.kid }, { alg: "HS256" }]) {
        const token = await new SignJWT(payload).setProtectedHeader(header).sign(new TextEncoder().encode(secret));
        await expectRefused(token, true, `HS256 ${JSON.stringify(header)}`);
      }
    }
  });

  it("refuses a stripped or altered signature and an altered payload", async () => {
    const [header, payload, signature] = (await issuer.sign({ sub: "victim" })).split(".");
    const middle = Math.floor(signature.length / 2);
    const altered = signature.slice(0, middle) + (signature[middle] === "A" ? "B" : "A") + signature.slice(middle + 1);
    const elevated = b64({ ...JSON.parse(Buffer.from(payload, "base64url").toString()), sub: "someone-else", groups: ["admins"] });
    await expectRefused(`${header}.${payload}.`, true, "stripped signature");
    await expectRefused(`${header}.${payload}.${altered}`, true, "altered signature");
    await expectRefused(`${header}.${elevated}.${signature}`, true, "altered payload");
    await expectRefused(`${header}.${payload}`, false, "two parts");
    await expectRefused("eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln", false, "payload not JSON");
  });

  it("refuses a wrong issuer, a wrong audience, extra audiences and an audience naming two connections", async () => {
    await expectRefused(await issuer.sign({ iss: "https://evil.example.com" }), false, "unknown issuer");
    await expectRefused(await issuer.sign({ iss: `${issuer.issuer}/` }), false, "issuer with another spelling");
    await expectRefused(await issuer.sign({ iss: undefined }), false, "no issuer");
    await expectRefused(await issuer.sign({ aud: "other-app" }), false, "unknown audience");
    await expectRefused(await issuer.sign({ aud: undefined }), false, "no audience");
    await expectRefused(await issuer.sign({ aud: [issuer.audience, "other-app"] }), true, "extra audience");
    await expectRefused(await issuer.sign({ aud: [issuer.audience, "second-app"] }), false, "audience of two organizations");
    // Signed by someone else with the right iss and aud: the issuer's keys decide.
    await expectRefused(await attacker.sign({ iss: issuer.issuer, aud: issuer.audience }), true, "another issuer's key");
  });

  it("refuses expired, not yet valid and future-dated tokens, judged by the server's clock with at most 60 s of skew", async () => {
    const token = await issuer.sign({ sub: "victim", exp: now() + 120 });
    expect((await present(t, token, { ip: nextIp() })).status).toBe(200);
    t.clock.advance(150_000);
    expect((await present(t, token, { ip: nextIp() })).status).toBe(200); // 30 s past exp, within the skew
    t.clock.advance(31_000);
    await expectRefused(token, true, "expired by 61 s");
    await expectRefused(await issuer.sign({ exp: now() - 3600 }), true, "expired an hour ago");
    expect((await present(t, await issuer.sign({ nbf: now() + 30 }), { ip: nextIp() })).status).toBe(200);
    await expectRefused(await issuer.sign({ nbf: now() + 120 }), true, "nbf in two minutes");
    await expectRefused(await issuer.sign({ iat: now() + 120 }), true, "iat in two minutes");
  });

  it("refuses tokens without sub, exp, nbf or iat, or with a sub that is not a string", async () => {
    for (const claim of ["sub", "exp", "nbf", "iat"]) await expectRefused(await issuer.sign({ [claim]: undefined }), true, `no ${claim}`);
    await expectRefused(await issuer.sign({ sub: 42 }), true, "numeric sub");
    await expectRefused(await issuer.sign({ sub: "" }), true, "empty sub");
  });

  it("refuses an unknown kid and a known kid on another key", async () => {
    const foreign = await issuer.newKey();
    await expectRefused(await issuer.sign({}, { key: foreign }), true, "unknown kid");
    await expectRefused(await issuer.sign({}, { key: { ...foreign, kid: issuer.key.kid } }), true, "known kid, other key");
    await expectRefused(await issuer.sign({}, { header: { kid: undefined }, key: foreign }), true, "no kid, other key");
  });

  it("ignores jku, x5u and jwk headers that point at an attacker's key", async () => {
    const key = attacker.key;
    const claims = { iss: issuer.issuer, aud: issuer.audience, sub: "victim" };
    await expectRefused(await issuer.sign(claims, { key, header: { jku: `${attacker.issuer}/jwks` } }), true, "jku");
    await expectRefused(await issuer.sign(claims, { key, header: { x5u: `${attacker.issuer}/jwks` } }), true, "x5u");
    await expectRefused(await issuer.sign(claims, { key, header: { jwk: key.publicJwk } }), true, "jwk");
    await expectRefused(await issuer.sign(claims, { key, header: { kid: issuer.key.kid, jwk: key.publicJwk, jku: `${attacker.issuer}/jwks` } }), true, "jwk with a known kid");
    expect(attacker.requests).toEqual({ discovery: 0, jwks: 0 });
  });

  it("refuses tokens over 8 KB, however genuine", async () => {
    expect((await present(t, await issuer.sign({ pad: "x".repeat(5000) }), { ip: nextIp() })).status).toBe(200);
    await expectRefused(await issuer.sign({ pad: "x".repeat(9000) }), false, "over 8 KB");
  });

  it("answers exactly as a bad API key does: status, body and challenge header", async () => {
    const answer = async (token: string) => {
      const res = await fetch(`${t.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}`, "x-forwarded-for": nextIp() },
        body: JSON.stringify({ query: "{ viewer { principalId } }" }),
      });
      const body = await res.json();
      delete body.errors[0].extensions.requestId;
      return { status: res.status, body, challenge: res.headers.get("www-authenticate"), type: res.headers.get("content-type") };
    };
    const badKey = t.ownerKey.slice(0, -1) + (t.ownerKey.endsWith("A") ? "B" : "A");
    expect(await answer(await attacker.sign({ iss: issuer.issuer, aud: issuer.audience }))).toEqual(await answer(badKey));
  });

  it("audits nothing of the token itself", async () => {
    const events = JSON.stringify(authenticationEvents(t).filter((e) => e.outcome === "DENIED"));
    expect(events).not.toContain("victim");
    expect(events).not.toContain(issuer.key.kid);
  });

  it("counts JWT failures in the brute-force brake; a genuine token still passes", async () => {
    const ip = nextIp();
    const forged = await attacker.sign({ iss: issuer.issuer, aud: issuer.audience });
    for (let i = 0; i < 5; i++) expect((await present(t, forged, { ip })).status).toBe(401);
    const locked = await present(t, forged, { ip });
    expect(locked.status).toBe(429);
    expect((await present(t, await issuer.sign({ sub: "victim" }), { ip })).status).toBe(200);
  });
});

describe("issuer keys: cache, rotation and refetch cooldown", () => {
  let rotating: OidcIssuer;
  beforeAll(async () => {
    rotating = await startOidcIssuer({ now: () => t.clock.now(), audience: "rotating-app" });
    await configureSso(t.client(t.createOrganization("Rotating").ownerKey), { issuer: rotating.issuer, audience: rotating.audience, jitProvisioning: true });
  });
  afterAll(() => rotating.stop());

  const status = async (token: string) => (await present(t, token, { ip: nextIp() })).status;

  it("fetches discovery and JWKS once, then serves from the cache", async () => {
    for (let i = 0; i < 5; i++) expect(await status(await rotating.sign())).toBe(200);
    expect(rotating.requests).toEqual({ discovery: 1, jwks: 1 });
  });

  it("refetches on an unknown kid after the cooldown, at most once per cooldown however many unknown kids arrive", async () => {
    const oldToken = await rotating.sign();
    await rotating.rotate();
    const newToken = await rotating.sign();
    // Within the cooldown of the last fetch, a new kid is not fetched for.
    expect(await status(newToken)).toBe(401);
    expect(rotating.requests.jwks).toBe(1);

    t.clock.advance(31_000);
    expect(await status(newToken)).toBe(200);
    expect(rotating.requests.jwks).toBe(2);
    expect(await status(oldToken)).toBe(401);

    // A flood of made-up kids right after: no fetch at all.
    const floods = await Promise.all(Array.from({ length: 20 }, async () => status(await rotating.sign({}, { key: await rotating.newKey() }))));
    expect(floods.every((s) => s === 401)).toBe(true);
    expect(rotating.requests.jwks).toBe(2);

    // After the cooldown, concurrent unknown kids share one fetch.
    t.clock.advance(31_000);
    const concurrent = await Promise.all(Array.from({ length: 10 }, async () => status(await rotating.sign({}, { key: await rotating.newKey() }))));
    expect(concurrent.every((s) => s === 401)).toBe(true);
    expect(rotating.requests.jwks).toBe(3);
    expect(await status(newToken)).toBe(200);
    expect(rotating.requests.jwks).toBe(3);
  });

  it("a key published next to the old one works after the refetch, and so does the old one", async () => {
    const oldToken = await rotating.sign();
    await rotating.rotate({ keepOld: true });
    t.clock.advance(31_000);
    expect(await status(await rotating.sign())).toBe(200);
    expect(await status(oldToken)).toBe(200);
    expect(rotating.requests.jwks).toBe(4);
  });

  it("remembers a verified token for at most a minute: a withdrawn key stops working within it", async () => {
    t.clock.advance(31_000);
    const token = await rotating.sign();
    expect(await status(token)).toBe(200);
    await rotating.rotate();
    t.clock.advance(31_000);
    expect(await status(await rotating.sign())).toBe(200); // refetched: the old key is gone now
    expect(await status(token)).toBe(200); // still remembered
    t.clock.advance(30_000);
    expect(await status(token)).toBe(401);
  });

  it("refetches keys older than 10 minutes in the background, serving the cached ones meanwhile", async () => {
    const before = rotating.requests.jwks;
    t.clock.advance(10 * 60_000);
    expect(await status(await rotating.sign())).toBe(200);
    await vi.waitFor(() => expect(rotating.requests.jwks).toBe(before + 1));
    expect(await status(await rotating.sign())).toBe(200);
    expect(rotating.requests.jwks).toBe(before + 1);
  });
});
