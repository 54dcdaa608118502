import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildSchema as parseSdl, findBreakingChanges } from "graphql";
import { describe, expect, it } from "vitest";
import { buildBareSchema } from "../../src/graphql/schema.js";

describe("schema.graphql", () => {
  it("is exactly what the code generates (run npm run schema after changing a resolver)", () => {
    const dir = mkdtempSync(join(tmpdir(), "portcullis-schema-"));
    try {
      const path = join(dir, "schema.graphql");
      buildBareSchema(path);
      expect(readFileSync("schema.graphql", "utf8")).toBe(readFileSync(path, "utf8"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps the public contract", () => {
    const contract = parseSdl(readFileSync(join("..", "shared", "contract.graphql"), "utf8"));
    const ours = parseSdl(readFileSync("schema.graphql", "utf8"));
    expect(findBreakingChanges(contract, ours).map((c) => c.description)).toEqual([]);
  });
});

describe("the compiled command line", () => {
  it("generates keys and creates organizations from any directory, speaking plainly", () => {
    const bin = join(process.cwd(), "bin", "portcullis.js");
    const cwd = mkdtempSync(join(tmpdir(), "portcullis-cli-"));
    const env = { ...process.env, PORTCULLIS_DATA_DIR: join(cwd, "data"), PORTCULLIS_MASTER_KEYS: "1:" + Buffer.alloc(32, 3).toString("base64"), PORTCULLIS_LOG_LEVEL: "silent" };
    try {
      const key = execFileSync(process.execPath, [bin, "generate-key"], { cwd, env, encoding: "utf8" }).trim();
      expect(key).toMatch(/^pcl_[0-9A-Za-z]{22}_[0-9A-Za-z]{38}$/);
      const out = execFileSync(process.execPath, [bin, "create-organization", "--name", "Acme", "--json"], { cwd, env, encoding: "utf8" });
      const created = JSON.parse(out);
      expect(created.organizationId).toMatch(/^org_/);
      expect(created.ownerApiKey).toMatch(/^pcl_/);
      const verify = execFileSync(process.execPath, [bin, "verify-audit", created.organizationId], { cwd, env, encoding: "utf8" });
      expect(verify).toMatch(/valid, 1 events/);
      const exported = execFileSync(process.execPath, [bin, "export-audit", created.organizationId], { cwd, env, encoding: "utf8" }).trim().split("\n").map((l) => JSON.parse(l));
      expect(exported[0]).toMatchObject({ sequence: 1, action: "createOrganization", previousHash: "0".repeat(64) });
      let status = 0;
      let stderr = "";
      try {
        execFileSync(process.execPath, [bin, "frobnicate"], { cwd, env, encoding: "utf8", stdio: "pipe" });
      } catch (err) {
        status = (err as { status: number }).status;
        stderr = String((err as { stderr: string }).stderr);
      }
      expect(status).toBe(2);
      expect(stderr).toMatch(/Unknown command: frobnicate/);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
