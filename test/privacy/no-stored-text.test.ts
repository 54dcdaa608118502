// By default prompt and completion text is stored nowhere: canaries sent in prompts and
// answered in the mock provider's completions, through invokeModel, invokeModelStream and
// /v1/chat/completions (whole and streamed), are searched for in the database file, its -wal
// and -shm, and every log line, while the server runs and after it stopped. Never found.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMockProvider, type MockProvider } from "../harness/mock-provider.js";
import { startServer, type TestServer } from "../harness/server.js";
import { PRIVATE_NETWORK, providerKey } from "../invoke/helpers.js";
import { encodings, findInDatabaseFiles } from "../secrets/helpers.js";
import { callEveryDoor, canaryWord, type CarriedCall } from "./helpers.js";

let t: TestServer;
let mock: MockProvider;
const canaries: string[] = [];

beforeAll(async () => {
  t = await startServer({ env: PRIVATE_NETWORK });
  mock = await startMockProvider();
});
afterAll(async () => {
  await t.stop();
  await mock.close();
});

function plant(label: string): string {
  const c = canaryWord(label);
  canaries.push(c);
  return c;
}

const needles = () => canaries.flatMap((c) => encodings(c));

describe("prompt and completion text, with storage off (the default)", () => {
  let calls: CarriedCall[];

  it("serves calls through every door with canaries in prompts and completions", async () => {
    expect(t.config.storeText).toBe(false);
    const key = await providerKey(t, mock.url);
    const prompts = new Map<string, string>();
    const completions = new Map<string, string>();
    calls = await callEveryDoor(
      t,
      mock,
      key,
      (door) => prompts.get(door) ?? prompts.set(door, `Tell me about ${plant("Prompt")} please`).get(door)!,
      (door) => completions.get(door) ?? completions.set(door, `Here is ${plant("Completion")} for you`).get(door)!,
    );
    expect(calls).toHaveLength(4);
    // The provider did receive the prompts: the canaries were really carried.
    for (const p of prompts.values()) expect(JSON.stringify(mock.requests.map((r) => r.body))).toContain(p);
  });

  it("keeps usage records without text", async () => {
    const { usageRecords } = await t.client(t.ownerKey).data("{ usageRecords(first: 10) { nodes { requestId success promptText completionText } } }");
    expect(usageRecords.nodes).toHaveLength(4);
    for (const n of usageRecords.nodes) expect(n).toMatchObject({ success: true, promptText: null, completionText: null });
    expect(new Set(usageRecords.nodes.map((n: { requestId: string }) => n.requestId))).toEqual(new Set(calls.map((c) => c.requestId)));
    const texts = t.server.database.sqlite.prepare("SELECT count(*) FROM usage_texts").pluck().get();
    expect(texts).toBe(0);
  });

  it("finds no canary in the database, its -wal or -shm, nor in any log line, while running and after the server stopped", async () => {
    expect(canaries).toHaveLength(8);
    expect(findInDatabaseFiles(t.dataDir, needles())).toEqual([]);
    expect(t.logs.length).toBeGreaterThan(0);
    for (const c of canaries) for (const line of t.logs) expect(line.includes(c), `log leaks ${c}: ${line}`).toBe(false);
    await t.close();
    expect(findInDatabaseFiles(t.dataDir, needles())).toEqual([]);
  });
});
