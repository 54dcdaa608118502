import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "../harness/server.js";

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
});
afterAll(() => t.stop());

const CANARY = "sk-canary-7f3a9c1e5b2d4f6a8c0e";

describe("GraphQL errors and limits", () => {
  it("never echoes a submitted value in a coercion error, in the response or the logs", async () => {
    const owner = t.client(t.ownerKey);
    const attempts = [
      owner.query("mutation($input: CreateWorkspaceInput!) { createWorkspace(input: $input) { id } }", { input: { name: 42, slug: CANARY } }),
      owner.query("mutation($input: CreateWorkspaceInput!) { createWorkspace(input: $input) { id } }", { input: { name: "x", [CANARY]: 1 } }),
      owner.query("query($first: Int) { workspaces(first: $first) { totalCount } }", { first: CANARY }),
      owner.query(`{ workspaces(first: "${CANARY}") { totalCount } }`),
      owner.query(`{ node(id: ${JSON.stringify(CANARY)}) { id } }`),
      owner.query(`mutation { createWorkspace(input: {name: "x", slug: ${CANARY.length}, extra: "${CANARY}"}) { id } }`),
      owner.query(`{ viewer { principalId } } ${CANARY}`),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.body.errors?.length, res.text).toBeGreaterThan(0);
      expect(res.text).not.toContain(CANARY);
      expect(res.text).not.toMatch(/stack|at .*\.ts:\d+/);
      expect(res.body.errors?.[0].extensions.requestId).toBe(res.headers.get("x-request-id"));
    }
    expect(t.logs.join("\n")).not.toContain(CANARY);
  });

  it("gives no field suggestions", async () => {
    const res = await t.client(t.ownerKey).query("{ viewer { principalI } }");
    expect(res.body.errors?.[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(res.text).not.toMatch(/Did you mean/);
  });

  it("answers parse failures with GRAPHQL_PARSE_FAILED and 400", async () => {
    const res = await t.client(t.ownerKey).query("{ viewer { ");
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0].extensions.code).toBe("GRAPHQL_PARSE_FAILED");
  });

  it("refuses documents over the depth, alias, cost and token limits", async () => {
    const owner = t.client(t.ownerKey);
    const nested = "{ viewer { apiKey { owner { roleBindings { role { id } } } } } }";
    expect((await owner.query(nested)).body.errors?.[0]?.extensions.code).not.toBe("GRAPHQL_VALIDATION_FAILED");
    let frag = "id";
    for (let i = 0; i < 12; i++) frag = `apiKey { owner { roleBindings { role { ${frag} } } } }`;
    const veryDeep = await owner.query(`{ viewer { ${frag} } }`);
    expect(veryDeep.body.errors?.[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    const aliases = Array.from({ length: 20 }, (_, i) => `a${i}: viewer { kind }`).join(" ");
    expect((await owner.query(`{ ${aliases} }`)).body.errors?.[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    const costly = Array.from({ length: 10 }, (_, i) => `w${i}: workspaces(first: 100) { nodes { id name slug createdAt } }`).join(" ");
    expect((await owner.query(`{ ${costly} }`)).body.errors?.[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    const tokens = `{ viewer { ${"kind ".repeat(3000)} } }`;
    const tokenRes = await owner.query(tokens);
    expect(tokenRes.status).toBe(400);
    expect(tokenRes.body.errors?.[0].extensions.code).toBe("GRAPHQL_PARSE_FAILED");
  });

  it("masks unexpected failures as INTERNAL_SERVER_ERROR with a request ID and logs the stack server-side", async () => {
    // Break the database under a read: the resolver throws an internal error.
    t.server.database.sqlite.exec("ALTER TABLE workspaces RENAME TO workspaces_moved");
    try {
      const res = await t.client(t.ownerKey).query("{ workspaces { totalCount } }");
      const err = res.body.errors?.[0];
      expect(err?.message).toBe("Internal server error");
      expect(err?.extensions.code).toBe("INTERNAL_SERVER_ERROR");
      expect(res.text).not.toMatch(/workspaces|sqlite|no such table|stack/i);
      expect(t.logs.some((l) => l.includes(err!.extensions.requestId) && l.includes("no such table"))).toBe(true);
    } finally {
      t.server.database.sqlite.exec("ALTER TABLE workspaces_moved RENAME TO workspaces");
    }
  });

  it("disables introspection in production only", async () => {
    const res = await t.client(t.ownerKey).query("{ __schema { queryType { name } } }");
    expect(res.body.data).toBeTruthy();
    const prod = await startServer({ env: { NODE_ENV: "production" } });
    try {
      const denied = await prod.client(prod.ownerKey).query("{ __schema { queryType { name } } }");
      expect(denied.body.errors?.[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    } finally {
      await prod.stop();
    }
  });
});
