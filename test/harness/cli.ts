// Runs the compiled `portcullis` command as an operator would: node bin/portcullis.js, from
// another working directory, with only the environment given (npm test builds dist/ first).
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const BIN = join(root, "bin", "portcullis.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  if (!existsSync(join(root, "dist", "bin.js"))) throw new Error("dist/ is missing: run `npm run build` (npm test does it) before the CLI tests");
  const cwd = mkdtempSync(join(tmpdir(), "portcullis-cli-cwd-"));
  try {
    // stdin is a pipe, not a terminal: what a script or CI job gives the command.
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["pipe", "pipe", "pipe"] });
    child.stdin.end();
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const code = await new Promise<number | null>((done) => child.on("close", done));
    return { code, stdout, stderr };
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

/** A PORTCULLIS_MASTER_KEYS entry: version n with a key made from n. */
export function masterKey(version: number): string {
  return `${version}:${Buffer.alloc(32, version + 100).toString("base64")}`;
}
