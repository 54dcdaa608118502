// Canary secrets planted through the API, valid and malformed, then searched for everywhere
// a secret could end up: the database and its -wal and -shm files (while running and after the
// server stopped), the captured log, and every response. Never found.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seed } from "../harness/factories.js";
import { fakeDns } from "../harness/loopback.js";
import { startServer, type TestServer } from "../harness/server.js";
import { canary, CREATE_VK, encodings, findInDatabaseFiles, ROTATE_VK } from "./helpers.js";

const dns = fakeDns({ "llm.example.com": ["93.184.216.34"] });
let t: TestServer;
const canaries: string[] = [];
const responses: string[] = [];

beforeAll(async () => {
  t = await startServer({ resolver: dns.resolver });
});
afterAll(() => t.stop());

function plant(label: string): string {
  const c = canary(label);
  canaries.push(c);
  return c;
}

/** A canary that is also a GraphQL name, so that it can sit unquoted in a document. */
function plantName(label: string): string {
  const c = `${label}_${randomBytes(20).toString("hex")}`;
  canaries.push(c);
  return c;
}

async function send(token: string, query: string, variables?: Record<string, unknown>) {
  const res = await t.client(token).query(query, variables);
  responses.push(res.text);
  return res;
}

/**
 * Every needle: the canary without its last four characters (the hint may show those), as
 * text, base64 and hex.
 */
function needles(): Buffer[] {
  return canaries.flatMap((c) => encodings(c.slice(0, -4)));
}

describe("canary secrets", () => {
  it("plants canaries through valid and malformed requests", async () => {
    const owner = t.ownerKey;
    const created = await send(owner, CREATE_VK, { input: { name: "canary key", provider: "OPENAI", secret: plant("created") } });
    const id = created.body.data!.createVirtualKey.id as string;
    const azure = await send(owner, CREATE_VK, {
      input: { name: "canary azure", provider: "AZURE_OPENAI", secret: plant("azure"), providerOptions: { resourceName: "r", deploymentId: "d", apiVersion: "2024-10-21" } },
    });
    expect(azure.body.errors).toBeUndefined();
    await send(owner, ROTATE_VK, { id, secret: plant("rotated1") });
    await send(owner, ROTATE_VK, { id, secret: plant("rotated2"), baseUrl: "https://llm.example.com/v1" });
    expect(await t.server.services.secrets.openSecret(t.organizationId, id, (s) => s.secret)).toBe(canaries[3]);

    const refusals = [
      // Wrong-typed variables: graphql-js would repeat the value in its message.
      await send(owner, `mutation($s: Int!) { createVirtualKey(input: { name: "x", provider: OPENAI, secret: "ok", baseUrl: null }) { id } rotateVirtualKeySecret(id: "${id}", secret: "x", providerOptions: $s) { id } }`, { s: plant("int-variable") }),
      await send(owner, `mutation($id: ID!, $s: Int!) { rotateVirtualKeySecret(id: $id, secret: $s) { id } }`, { id, s: plant("wrong-type") }),
      await send(owner, CREATE_VK, { input: { name: "x", provider: "OPENAI", secret: plant("unknown-field"), extra: plant("extra-field") } }),
      await send(owner, CREATE_VK, { input: { name: "x", secret: plant("missing-provider") } }),
      await send(owner, CREATE_VK, { input: { name: "x", provider: plant("enum-variable"), secret: plant("beside-enum") } }),
      // Values written into the document itself.
      await send(owner, `mutation { createVirtualKey(input: { name: "x", provider: ${plantName("enum_literal")}, secret: "s" }) { id } }`),
      await send(owner, `mutation { createVirtualKey(input: { name: "x", provider: OPENAI, secret: ${plantName("unquoted")} }) { id } }`),
      await send(owner, `mutation { createVirtualKey(input: { name: "x", provider: OPENAI, secret: "s", ${plantName("literal_field")}: 1 }) { id } }`),
      await send(owner, `query { auditEvents(filter: { from: "${plant("datetime")}" }) { nodes { id } } }`),
      await send(owner, `query { virtualKeys(first: "${plant("int-literal")}") { totalCount } }`),
      await send(owner, `mutation { createVirtualKey(input: { name: "x", provider: OPENAI, secret: "${plant("syntax")}" `),
      // Refused by the service: bounds, endpoints, options, permissions, tenancy.
      await send(owner, CREATE_VK, { input: { name: "x", provider: "OPENAI", secret: plant("too-long").padEnd(9000, "x") } }),
      await send(owner, CREATE_VK, { input: { name: "x", provider: "OPENAI", secret: `${plant("newline")}\r\nX-Injected: 1` } }),
      await send(owner, CREATE_VK, { input: { name: "x", provider: "OPENAI_COMPATIBLE", secret: plant("bad-url"), baseUrl: `https://u:${plant("userinfo")}@llm.example.com/` } }),
      await send(owner, CREATE_VK, { input: { name: "x", provider: "OPENAI_COMPATIBLE", secret: "sk-fine", baseUrl: `https://llm.example.com/v1?key=${plant("query")}` } }),
      await send(owner, CREATE_VK, { input: { name: "x", provider: "OPENAI_COMPATIBLE", secret: "sk-fine", baseUrl: `https://${plant("host").toLowerCase()}.example.com/` } }),
      await send(owner, CREATE_VK, { input: { name: "x", provider: "OPENAI", secret: plant("options"), providerOptions: { organization: plant("option-value") + "!" } } }),
      await send(owner, CREATE_VK, { input: { name: "x", provider: "OPENAI", secret: plant("options-key"), providerOptions: { [plant("option-key")]: "x" } } }),
      await send(owner, CREATE_VK, { input: { name: "x", slug: "canary-key", provider: "OPENAI", secret: plant("duplicate-slug") } }),
      await send(owner, ROTATE_VK, { id: "vk_0000000000000000000000", secret: plant("unknown-key") }),
      await send(seed(t).apiKey("member").token, ROTATE_VK, { id, secret: plant("forbidden") }),
      await send(t.createOrganization("Canary neighbour").ownerKey, ROTATE_VK, { id, secret: plant("other-tenant") }),
    ];
    for (const res of refusals) expect(res.body.errors?.length, res.text).toBeGreaterThan(0);
    // The valid secrets landed; the refused ones changed nothing.
    expect(await t.server.services.secrets.openSecret(t.organizationId, id, (s) => s.secretVersion)).toBe(3);
  });

  it("finds no canary in any response or log line", () => {
    for (const c of canaries) {
      const probe = c.slice(0, -4);
      for (const text of responses) expect(text.includes(probe), `response leaks ${c}: ${text}`).toBe(false);
      for (const line of t.logs) expect(line.includes(probe), `log leaks ${c}: ${line}`).toBe(false);
    }
    expect(t.logs.length).toBeGreaterThan(0);
  });

  it("finds no canary in the database, -wal or -shm while running, nor after the server stopped", async () => {
    expect(findInDatabaseFiles(t.dataDir, needles())).toEqual([]);
    await t.close();
    expect(findInDatabaseFiles(t.dataDir, needles())).toEqual([]);
    for (const c of canaries) for (const line of t.logs) expect(line.includes(c.slice(0, -4))).toBe(false);
  });
});
