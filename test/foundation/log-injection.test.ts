// Strings with CR, LF, terminal escapes, C1 controls or Unicode line separators cannot forge a
// line in the server's log, in an audit export, or in the command line's output.
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { printable, jsonLine } from "../../src/printable.js";
import { runCli } from "../harness/cli.js";
import { startServer, TEST_MASTER_KEY, type TestServer } from "../harness/server.js";

const HOSTILE = 'evil\r\n{"level":50,"msg":"forged"}\u001b[2J\u001b]0;title\u0007\u009b31m\u2028\u2029end';
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/;

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
});
afterAll(() => t.stop());

function rawRequest(bytes: Buffer): Promise<string> {
  const { port } = new URL(t.url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), "127.0.0.1");
    let got = "";
    socket.on("data", (c) => (got += c));
    socket.on("close", () => resolve(got));
    socket.on("error", () => resolve(got));
    socket.end(bytes);
  });
}

/** Every line of every chunk the logger wrote is one JSON object with no raw control character. */
function expectCleanLines(text: string) {
  for (const line of text.split("\n").filter(Boolean)) {
    expect(line, line).not.toMatch(RAW);
    expect(() => JSON.parse(line), line).not.toThrow();
  }
}

describe("hostile strings", () => {
  it("printable and jsonLine escape every control and separator, and nothing else", () => {
    expect(printable(HOSTILE)).not.toMatch(RAW);
    expect(printable(HOSTILE)).toContain("evil\\u000d\\u000a");
    expect(printable("plain text, é, 東京")).toBe("plain text, é, 東京");
    const line = jsonLine({ name: HOSTILE });
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    expect(JSON.parse(line)).toEqual({ name: HOSTILE });
  });

  it("cannot forge a log line: through GraphQL arguments, odd bytes in a path, or headers", async () => {
    const owner = t.client(t.ownerKey);
    // Names refuse control characters outright; the refusal is logged and audited.
    expect(await owner.errorCode("mutation($n: String!) { createWorkspace(input: {name: $n}) { id } }", { n: HOSTILE })).toBe("BAD_USER_INPUT");
    // A C1 control and a line separator sent as raw bytes in the path, an escape in a header.
    await rawRequest(Buffer.concat([Buffer.from("GET /v1/"), Buffer.from([0x9b, 0x33, 0x31, 0x6d]), Buffer.from("\u2028", "utf8"), Buffer.from(" HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")]));
    await rawRequest(Buffer.from(`GET /healthz HTTP/1.1\r\nhost: x\r\nuser-agent: a\u001b[2Jb\r\nconnection: close\r\n\r\n`, "latin1"));
    const logs = t.logs.join("");
    expect(logs).not.toContain("forged\"}");
    // Node's parser refuses such a path (and such a header) before the pipeline: logged as malformed, no path.
    expect(logs).toMatch(/"outcome":"malformed_http","code":"HPE_INVALID_URL"/);
    expectCleanLines(logs);
  });

  it("cannot forge a line of an audit export or of the command's messages", async () => {
    const owner = t.client(t.ownerKey);
    await owner.query("mutation($n: String!) { createWorkspace(input: {name: $n}) { id } }", { n: HOSTILE });
    const env = { PORTCULLIS_DATA_DIR: t.dataDir, PORTCULLIS_MASTER_KEYS: TEST_MASTER_KEY };
    const exported = await runCli(["export-audit", t.organizationId], env);
    expect(exported.code, exported.stderr).toBe(0);
    expectCleanLines(exported.stdout);

    for (const args of [["export-audit", `org_x\n${HOSTILE}`], ["verify-audit", `org_x\r\n${HOSTILE}`], [`nope\u001b[2J\n${HOSTILE}`]]) {
      const res = await runCli(args, env);
      expect(res.code).not.toBe(0);
      const first = res.stderr.split("\n")[0];
      expect(first).toMatch(/^portcullis: /);
      expect(first).toContain("\\u001b");
      expect(res.stderr + res.stdout).not.toMatch(RAW);
    }
  });
});
