// The development explorer: GraphiQL at /explorer, every file it loads served by Portcullis from
// dist/explorer (built by scripts/build.mjs, so run it first), under a policy of this origin only;
// it calls /graphql the way any client does. In production the page and its files are 404.
import { existsSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { getIntrospectionQuery } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../src/package-root.js";
import { startServer, type TestServer } from "../harness/server.js";

const API_POLICY = "default-src 'none'; frame-ancestors 'none'";
const TYPES: Record<string, RegExp> = {
  js: /^text\/javascript; charset=utf-8$/,
  css: /^text\/css; charset=utf-8$/,
  woff2: /^font\/woff2$/,
  woff: /^font\/woff$/,
  ttf: /^font\/ttf$/,
  svg: /^image\/svg\+xml$/,
  png: /^image\/png$/,
};

function directives(policy: string): Map<string, string[]> {
  return new Map(policy.split(";").map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
}

/** What a file makes the browser load next: imports and workers in scripts, url() in styles. */
function references(file: string, text: string): string[] {
  if (file.endsWith(".css")) return [...text.matchAll(/url\(\s*["']?([^"')]+)["']?\s*\)/g)].map((m) => m[1]);
  if (!file.endsWith(".js")) return [];
  // esbuild's minified imports have no space: from"./x.js", import"./x.js", import("./x.js")
  // (prose in messages, such as babel's 'import x from "./module"', has one).
  const imports = [...text.matchAll(/(?:\bfrom|\bimport)\(?"(\.\/[^"]+)"/g)].map((m) => m[1]);
  const workers = [...text.matchAll(/"([\w-]+\.worker\.js)"/g)].map((m) => m[1]);
  return [...imports, ...workers];
}

/** GET with the path exactly as written (fetch would resolve dot segments first). */
function rawGet(url: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: "GET", path }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

let dev: TestServer;
let prod: TestServer;
/** Every asset the page leads to, found by following its references (filled by the crawl test). */
const assets = new Set<string>();

beforeAll(async () => {
  if (!existsSync(join(packageRoot, "dist", "explorer", "explorer.js"))) throw new Error("dist/explorer is missing: run node scripts/build.mjs first");
  dev = await startServer();
  prod = await startServer({ env: { NODE_ENV: "production" } });
});
afterAll(async () => {
  await dev.stop();
  await prod.stop();
});

describe("the explorer in development", () => {
  it("is an HTML page under a policy of this origin only, with a fresh nonce for styles", async () => {
    const res = await fetch(`${dev.url}/explorer`);
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(html).toMatch(/<div id="explorer"><\/div>/);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    expect(html).not.toMatch(/\sstyle=/);

    const policy = res.headers.get("content-security-policy")!;
    const d = directives(policy);
    const nonce = /nonce="([A-Za-z0-9]+)"/.exec(html)![1];
    expect(d.get("default-src")).toEqual(["'none'"]);
    expect(d.get("script-src")).toEqual(["'self'"]);
    expect(d.get("style-src")).toEqual(["'self'", `'nonce-${nonce}'`]);
    expect(d.get("style-src-attr")).toEqual(["'unsafe-inline'"]);
    expect(d.get("img-src")).toEqual(["'self'", "data:"]);
    for (const name of ["font-src", "connect-src", "worker-src"]) expect(d.get(name)).toEqual(["'self'"]);
    for (const name of ["base-uri", "form-action", "frame-ancestors"]) expect(d.get(name)).toEqual(["'none'"]);
    expect(policy).not.toMatch(/https?:|\*|unsafe-eval|blob:|wasm/);
    expect(res.headers.get("x-frame-options")).toBe("DENY");

    const again = await fetch(`${dev.url}/explorer`);
    expect(again.headers.get("content-security-policy")).not.toContain(nonce);
  });

  it("loads only files of this server, each with its type, and the files keep the API's policy", async () => {
    const origin = new URL(dev.url).origin;
    const html = await (await fetch(`${dev.url}/explorer`)).text();
    const queue = [...html.matchAll(/\s(?:src|href)="([^"]+)"/g)].map((m) => new URL(m[1], `${dev.url}/explorer`));
    expect(queue.map((u) => u.pathname)).toEqual(["/explorer/assets/explorer.css", "/explorer/assets/explorer.js"]);
    while (queue.length) {
      const url = queue.shift()!;
      expect(url.origin, url.href).toBe(origin);
      if (assets.has(url.pathname)) continue;
      assets.add(url.pathname);
      const res = await fetch(url);
      expect(res.status, url.pathname).toBe(200);
      const extension = url.pathname.split(".").pop()!;
      expect(res.headers.get("content-type"), url.pathname).toMatch(TYPES[extension]);
      expect(res.headers.get("content-security-policy")).toBe(API_POLICY);
      const text = extension === "js" || extension === "css" ? await res.text() : "";
      if (extension === "css") expect(text, url.pathname).not.toMatch(/https?:\/\/|data:/);
      if (extension === "js") expect(text, url.pathname).not.toMatch(/(?:\bfrom|\bimport)\(?"(?:https?:)?\/\//);
      for (const ref of references(url.pathname, text)) queue.push(new URL(ref, url));
    }
    const names = [...assets].map((p) => p.split("/").pop()!);
    // The crawl reached Monaco's workers, lazily loaded chunks, the fonts and icons.
    expect(names).toEqual(expect.arrayContaining(["editor.worker.js", "json.worker.js", "graphql.worker.js"]));
    expect(names.filter((n) => n.startsWith("chunk-")).length).toBeGreaterThan(5);
    expect(names.filter((n) => /\.(woff2?|ttf)$/.test(n)).length).toBeGreaterThan(5);
  });

  it("works through /graphql like any client: introspection and a query with the bearer typed in", async () => {
    // What explorer/main.ts sends from the page: same origin, POST application/json.
    const post = (query: string, token?: string) =>
      fetch(`${dev.url}/graphql`, {
        method: "POST",
        headers: { origin: new URL(dev.url).origin, "sec-fetch-site": "same-origin", "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query }),
      });
    const schema = await (await post(getIntrospectionQuery(), dev.ownerKey)).json();
    expect(schema.data.__schema.queryType.name).toBe("Query");
    expect(schema.data.__schema.types.map((t: { name: string }) => t.name)).toContain("ApiKey");
    const viewer = await (await post("{ viewer { kind principalId } }", dev.ownerKey)).json();
    expect(viewer.data.viewer.kind).toBe("API_KEY");

    const anonymous = await post("{ viewer { kind } }");
    expect(anonymous.status).toBe(401);
    expect((await anonymous.json()).errors[0].extensions.code).toBe("UNAUTHENTICATED");
  });

  it("leaves /graphql as it was: no landing page, the API's policy", async () => {
    const res = await fetch(`${dev.url}/graphql`, { headers: { accept: "text/html", authorization: `Bearer ${dev.ownerKey}` } });
    const text = await res.text();
    expect(res.headers.get("content-type")).not.toMatch(/html/);
    expect(text).not.toMatch(/<html|apollographql|cdn/i);
    expect(res.headers.get("content-security-policy")).toBe(API_POLICY);
  });

  it("serves no other file: unknown names, dot segments, encoded slashes and other methods", async () => {
    for (const path of ["/explorer/assets/missing.js", "/explorer/assets/explorer.js.map", "/explorer/assets/../../package.json", "/explorer/assets/..%2F..%2Fpackage.json", "/explorer/assets/.%2e/main.js", "/explorer/assets/", "/explorer/assets", "/explorer/"]) {
      const res = await rawGet(dev.url, path);
      expect(res.status, path).toBe(404);
      expect(JSON.parse(res.body).errors[0].extensions.code, path).toBe("NOT_FOUND");
    }
    const post = await fetch(`${dev.url}/explorer`, { method: "POST" });
    expect(post.status).toBe(405);
    expect((await post.json()).errors[0].extensions.code).toBe("BAD_REQUEST");
  });
});

describe("the explorer in production", () => {
  it("answers 404 like any unknown path, for the page and every file", async () => {
    const unknown = await fetch(`${prod.url}/no-such-path`);
    const unknownBody = (await unknown.json()).errors[0];
    expect(assets.size).toBeGreaterThan(10);
    for (const path of ["/explorer", ...assets]) {
      const res = await fetch(`${prod.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
      const error = (await res.json()).errors[0];
      expect({ message: error.message, code: error.extensions.code }).toEqual({ message: unknownBody.message, code: unknownBody.extensions.code });
    }
  });

  it("keeps introspection off", async () => {
    const res = await prod.client(prod.ownerKey).query(getIntrospectionQuery());
    expect(res.body.errors?.[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
  });
});
