import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

describe("the compiled server process", () => {
  it("prints the owner key once on the terminal, serves it, and shuts down cleanly on SIGTERM", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "portcullis-proc-"));
    const child = spawn(process.execPath, [join(process.cwd(), "dist", "main.js")], {
      cwd: dataDir,
      env: { ...process.env, PORT: "0", PORTCULLIS_DATA_DIR: dataDir, NODE_ENV: "development" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    const exited = new Promise<number | string | null>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const check = setInterval(() => {
          const m = /listening on (http:\/\/[^\s"]+)\/graphql/.exec(stdout);
          if (m) {
            clearInterval(check);
            resolve(m[1]);
          }
        }, 20);
        exited.then(() => reject(new Error(`server exited: ${stderr}`)));
      });
      const key = /\b(pcl_[0-9A-Za-z_]+)\b/.exec(stderr)?.[1];
      expect(key).toBeDefined();
      expect(stdout).not.toContain(key!);
      const res = await fetch(`${url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: "{ viewer { kind organization { name } } }" }),
      });
      expect(await res.json()).toEqual({ data: { viewer: { kind: "API_KEY", organization: { name: "Default organization" } } } });
      child.kill("SIGTERM");
      expect(await exited, stdout + stderr).toBe(0);
      expect(stdout).toMatch(/shutting down/);
    } finally {
      child.kill("SIGKILL");
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
