// Each limit on a GraphQL document, with a document just under it (served) and just over it
// (refused with an error naming the limit). Fragments count as nesting, directives are counted,
// and a document made of mistakes is reported in a few errors, not hundreds.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../src/graphql/limits.js";
import { startServer, type TestServer } from "../harness/server.js";
import type { GraphQLClient, GraphQLResponse } from "../harness/client.js";

let t: TestServer;
let owner: GraphQLClient;
beforeAll(async () => {
  t = await startServer();
  owner = t.client(t.ownerKey);
});
afterAll(() => t.stop());

const served = (res: GraphQLResponse) => {
  expect(res.body.errors, res.text).toBeUndefined();
  expect(res.status).toBe(200);
};

function refused(res: GraphQLResponse, limit: string, message: RegExp) {
  expect(res.status, res.text).toBe(400);
  expect(res.body.errors?.[0]).toMatchObject({ extensions: { code: "GRAPHQL_VALIDATION_FAILED", limit } });
  expect(res.body.errors![0].message).toMatch(message);
  // No stack, no file path, no "Did you mean".
  expect(res.text).not.toMatch(/at .*\.(ts|js):\d+|\/work\/|Did you mean/);
}

/** `{ viewer { ... on Viewer { ... on Viewer { kind } } } }` with n inline fragments: depth n + 2. */
const inlineNested = (n: number) => `{ viewer { ${"... on Viewer { ".repeat(n)}kind${" }".repeat(n)} } }`;

/** A chain of n + 1 fragment spreads under viewer: depth n + 3. */
function spreadNested(n: number): string {
  const defs = [`fragment F0 on Viewer { kind }`];
  for (let i = 1; i <= n; i++) defs.push(`fragment F${i} on Viewer { ...F${i - 1} }`);
  return `{ viewer { ...F${n} } } ${defs.join(" ")}`;
}

describe("GraphQL document limits", () => {
  it("depth: inline fragments count as levels, just under and just over", async () => {
    expect(DEFAULT_LIMITS.maxDepth).toBe(10);
    served(await owner.query(inlineNested(8)));
    refused(await owner.query(inlineNested(9)), "depth", /^Depth limit: the query is nested 11 levels deep .*at most 10/);
    // The report's example: 26 nested fragments of one type.
    refused(await owner.query(inlineNested(26)), "depth", /nested 28 levels/);
  });

  it("depth: fragment spreads count as levels, just under and just over", async () => {
    served(await owner.query(spreadNested(7)));
    refused(await owner.query(spreadNested(8)), "depth", /nested 11 levels/);
  });

  it("aliases, just under and just over", async () => {
    const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: viewer { kind }`).join(" ")} }`;
    served(await owner.query(aliases(DEFAULT_LIMITS.maxAliases)));
    refused(await owner.query(aliases(DEFAULT_LIMITS.maxAliases + 1)), "aliases", /^Alias limit: the query uses 16 aliases; at most 15/);
  });

  it("cost, just under and just over", async () => {
    // Each `workspaces(first: n) { nodes { id name slug createdAt } }` costs 1 + n * 5.
    const pages = (first: number) => `{ ${Array.from({ length: 10 }, (_, i) => `w${i}: workspaces(first: ${first}) { nodes { id name slug createdAt } }`).join(" ")} }`;
    served(await owner.query(pages(99))); // 4,960
    refused(await owner.query(pages(100)), "cost", /^Cost limit: the query costs 5010; at most 5000/);
  });

  it("directives, just under and just over; hundreds of unknown ones are one refusal", async () => {
    const directives = (n: number) => `{ viewer { ${Array.from({ length: n }, () => "kind @include(if: true)").join(" ")} } }`;
    served(await owner.query(directives(DEFAULT_LIMITS.maxDirectives)));
    refused(await owner.query(directives(DEFAULT_LIMITS.maxDirectives + 1)), "directives", /^Directive limit: the document uses 21 directives; at most 20/);
    const flood = await owner.query(`{ viewer { kind ${"@aa ".repeat(300)} } }`);
    refused(flood, "directives", /uses 300 directives/);
    expect(flood.body.errors!.length).toBeLessThanOrEqual(DEFAULT_LIMITS.maxErrors + 1);
  });

  it("validation stops after a few errors", async () => {
    const res = await owner.query(`{ ${Array.from({ length: 60 }, (_, i) => `nope${i}`).join(" ")} }`);
    expect(res.status).toBe(400);
    expect(res.body.errors!.length).toBeGreaterThan(1);
    expect(res.body.errors!.length).toBeLessThanOrEqual(DEFAULT_LIMITS.maxErrors + 1);
    expect(res.body.errors!.every((e) => e.extensions.code === "GRAPHQL_VALIDATION_FAILED")).toBe(true);
    expect(res.text).not.toMatch(/Did you mean/);
  });

  it("tokens, just under and just over", async () => {
    // `query Qi { viewer { kind } }` is 8 tokens; 250 of them are 2000. (Many copies of one field
    // would trip graphql-js's own bound on comparing overlapping fields instead.)
    const operations = (extra: string) => Array.from({ length: 250 }, (_, i) => `query Q${i} { viewer { kind${i === 0 ? extra : ""} } }`).join(" ");
    const send = async (query: string) => {
      const res = await fetch(`${t.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${t.ownerKey}` },
        body: JSON.stringify({ query, operationName: "Q0" }),
      });
      return { status: res.status, text: await res.text() };
    };
    const under = await send(operations(""));
    expect(under.status, under.text).toBe(200);
    expect(JSON.parse(under.text)).toMatchObject({ data: { viewer: { kind: "API_KEY" } } });
    const over = await send(operations(" kind"));
    expect(over.status).toBe(400);
    const body = JSON.parse(over.text);
    expect(body.errors[0]).toMatchObject({ message: "Token limit: the document has more than 2000 tokens.", extensions: { code: "GRAPHQL_PARSE_FAILED" } });
  });
});
