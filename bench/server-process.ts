// What the benches that run the compiled server as its own process share: a free port, the
// flags `npm start` gives node, and waiting until /readyz answers.
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Pool } from "undici";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => done(port));
    });
  });
}

/** The flags between `node` and `dist/main.js` in package.json's start script: the server as it is started for real. */
export function startFlags(): string[] {
  const start = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: { start: string } }).scripts.start;
  const match = /^node\s+(.*?)\s*dist\/main\.js$/.exec(start.trim());
  if (!match) throw new Error(`package.json's start script is not "node [flags] dist/main.js": ${start}`);
  return match[1].split(" ").filter(Boolean);
}

/** Resolves once the server at url answers /readyz with 200; rejects if its process exits first or the time runs out. */
export async function waitUntilReady(child: ChildProcess, url: string, o: { timeoutMs: number; pollMs: number; requestTimeoutMs: number }): Promise<void> {
  const exited = new Promise<never>((_, fail) => child.once("exit", (code, signal) => fail(new Error(`Portcullis exited early (${code ?? signal}); is dist/ built (npm run build)?`))));
  exited.catch(() => {});
  const deadline = Date.now() + o.timeoutMs;
  const probe = new Pool(url, { connections: 1 });
  try {
    for (;;) {
      const ok = await Promise.race([
        exited,
        probe.request({ method: "GET", path: "/readyz", headersTimeout: o.requestTimeoutMs, bodyTimeout: o.requestTimeoutMs }).then(
          async (r) => (await r.body.text(), r.statusCode === 200),
          () => false,
        ),
      ]);
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`Portcullis was not ready within ${o.timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, o.pollMs));
    }
  } finally {
    await probe.close();
  }
}
