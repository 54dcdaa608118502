import { request } from "node:http";
import { describe, expect, it } from "vitest";
import { startServer } from "../harness/server.js";

describe("graceful shutdown", () => {
  it("finishes a request in flight, refuses new connections, then closes the database", async () => {
    const t = await startServer();
    const url = new URL(`${t.url}/graphql`);
    const body = JSON.stringify({ query: "{ viewer { kind } }" });
    // A request whose body is still arriving when shutdown begins.
    const inFlight = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        { host: url.hostname, port: url.port, path: url.pathname, method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${t.ownerKey}`, "content-length": Buffer.byteLength(body) } },
        (res) => {
          let text = "";
          res.on("data", (c) => (text += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on("error", reject);
      req.write(body.slice(0, 10));
      setTimeout(() => req.end(body.slice(10)), 100);
    });
    // A round trip on another connection: by then the server has read the first request's head.
    await new Promise((r) => setTimeout(r, 30));
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    const closing = t.close();
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ data: { viewer: { kind: "API_KEY" } } });
    await closing;
    await expect(fetch(`${t.url}/healthz`)).rejects.toThrow();
    expect(t.server.database.sqlite.open).toBe(false);
    await t.stop();
  });
});
