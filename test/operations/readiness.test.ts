// /readyz says whether the server can serve: 503 once the database is unreachable, while
// /healthz (the process is alive) still answers 200.
import { describe, expect, it } from "vitest";
import { startServer } from "../harness/server.js";

describe("/readyz", () => {
  it("fails while the database is unreachable, and /healthz does not", async () => {
    const t = await startServer();
    try {
      expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
      t.server.database.sqlite.close();
      const ready = await fetch(`${t.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: "not ready" });
      expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    } finally {
      await t.stop().catch(() => undefined);
    }
  });
});
