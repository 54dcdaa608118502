// PORTCULLIS_STORE_TEXT=true: the prompt and completion of each answered call, through every
// door, is redacted before it is written and stored beside the usage record of the attempt that
// served it; usageRecords returns it under USAGE_READ's read rules. Personal data and keys in
// the text never reach the database files or the log.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seed } from "../harness/factories.js";
import { startMockProvider, type MockProvider } from "../harness/mock-provider.js";
import { startServer, type TestServer } from "../harness/server.js";
import { INVOKE, PRIVATE_NETWORK, providerKey, route } from "../invoke/helpers.js";
import { REDACTED } from "../../src/privacy/redact.js";
import { encodings, findInDatabaseFiles } from "../secrets/helpers.js";
import { streamed } from "../streaming/sse-client.js";
import { callEveryDoor, canaryWord, type CarriedCall } from "./helpers.js";

let t: TestServer;
let mock: MockProvider;

beforeAll(async () => {
  t = await startServer({ env: { ...PRIVATE_NETWORK, PORTCULLIS_STORE_TEXT: "true" } });
  mock = await startMockProvider();
});
afterAll(async () => {
  await t.stop();
  await mock.close();
});

const RECORDS = `query($filter: UsageFilter, $first: Int, $after: String) { usageRecords(filter: $filter, first: $first, after: $after) {
  nodes { id requestId workspaceId success promptText completionText } pageInfo { hasNextPage endCursor } } }`;

// Personal data and secrets, each unique to this run.
const email = `${canaryWord("mail").toLowerCase()}@example.com`;
const card = "4111 1111 1111 1111";
const providerSecret = `sk-proj-${canaryWord("Key")}0123456789`;
const phone = "+44 20 7946 0958";

describe("stored call text", () => {
  let calls: CarriedCall[];
  const words = new Map<string, { prompt: string; completion: string }>();

  it("stores each call's prompt and completion, redacted, through every door", async () => {
    const key = await providerKey(t, mock.url);
    const wordsOf = (door: string) => words.get(door) ?? words.set(door, { prompt: canaryWord("Prompt"), completion: canaryWord("Completion") }).get(door)!;
    calls = await callEveryDoor(
      t,
      mock,
      key,
      (door) => `I am ${wordsOf(door).prompt}, mail ${email}, card ${card}, key ${providerSecret}`,
      (door) => `Noted ${wordsOf(door).completion}; call ${phone}`,
    );
    const { usageRecords } = await t.client(t.ownerKey).data(RECORDS, { first: 10 });
    expect(usageRecords.nodes).toHaveLength(4);
    for (const call of calls) {
      const record = usageRecords.nodes.find((n: { requestId: string }) => n.requestId === call.requestId);
      const { prompt, completion } = words.get(call.door)!;
      const promptLine = `I am ${prompt}, mail ${REDACTED.email}, card ${REDACTED.card}, key ${REDACTED.key}`;
      expect(record.completionText, call.door).toBe(`Noted ${completion}; call ${REDACTED.phone}`);
      // invokeModel's first message is the system prompt: every message is kept, one paragraph each.
      expect(record.promptText, call.door).toBe(call.door === "invokeModel" ? `system: Be brief.\n\nuser: ${promptLine}` : `user: ${promptLine}`);
    }
  });

  it("writes no email, card number, key or phone number to the database files or the log; the plain words are there", () => {
    const secrets = [email, card, card.replaceAll(" ", ""), providerSecret, phone];
    expect(findInDatabaseFiles(t.dataDir, secrets.flatMap(encodings))).toEqual([]);
    for (const s of secrets) for (const line of t.logs) expect(line.includes(s), `log leaks ${s}: ${line}`).toBe(false);
    // The scan does see what is stored: the harmless words are found in the database files.
    expect(findInDatabaseFiles(t.dataDir, [Buffer.from(words.get("invokeModel")!.prompt)]).length).toBeGreaterThan(0);
    for (const w of words.values()) for (const line of t.logs) expect(line.includes(w.prompt) || line.includes(w.completion)).toBe(false);
  });

  it("stores the text on the record of the attempt that served a fallback, not on the failed one", async () => {
    const key = await providerKey(t, mock.url);
    const r = await route(t, { strategy: "FALLBACK", targets: [{ virtualKey: key.id, model: "gpt-4o-mini" }, { virtualKey: key.id, model: "gpt-4o" }] });
    mock.enqueue({ kind: "fail", status: 503 }, { kind: "ok", content: "second answer" });
    const done = await t.client(t.ownerKey).data(INVOKE, { input: { route: r.id, messages: [{ role: "USER", content: "fall back" }] } });
    const { usageRecords } = await t.client(t.ownerKey).data(RECORDS, { first: 100 });
    const rows = usageRecords.nodes.filter((n: { requestId: string }) => n.requestId === done.invokeModel.id);
    expect(rows.map((n: any) => [n.success, n.promptText, n.completionText]).sort()).toEqual([
      [false, null, null],
      [true, "user: fall back", "second answer"],
    ]);
  });

  it("stores what was streamed of a stream the provider cut off", async () => {
    const key = await providerKey(t, mock.url);
    // A role chunk, then "alpha " and "beta ", then the connection drops.
    mock.enqueue({ kind: "cut", afterChunks: 3, content: "alpha beta gamma delta" });
    t.clock.advance(1_000);
    const res = await streamed(t, { model: `@${key.slug}/gpt-4o`, messages: [{ role: "user", content: "cut me off" }] });
    expect(res.done).toBe(false);
    const { usageRecords } = await t.client(t.ownerKey).data(RECORDS, { first: 1 });
    expect(usageRecords.nodes[0]).toMatchObject({ requestId: res.requestId, promptText: "user: cut me off", completionText: "alpha beta " });
  });

  it("stores nothing for a call no provider answered", async () => {
    const key = await providerKey(t, mock.url);
    mock.enqueue({ kind: "fail", status: 500 });
    // Later than every record before it: the newest first.
    t.clock.advance(1_000);
    const res = await t.client(t.ownerKey).query(INVOKE, { input: { virtualKey: key.id, model: "gpt-4o", messages: [{ role: "USER", content: "no answer" }] } });
    expect(res.body.errors?.[0].extensions.code, res.text).toBe("PROVIDER_ERROR");
    const { usageRecords } = await t.client(t.ownerKey).data(RECORDS, { first: 1 });
    expect(usageRecords.nodes[0]).toMatchObject({ success: false, promptText: null, completionText: null });
  });

  it("reads text under the usage record's rules: a workspace's reader sees its workspace's records only, others none", async () => {
    const s = seed(t);
    const w1 = s.workspace("text-one");
    const w2 = s.workspace("text-two");
    const key1 = await providerKey(t, mock.url, { workspaceId: w1 });
    const caller = s.apiKey("member", w1);
    mock.enqueue({ kind: "ok", content: "workspace answer" });
    t.clock.advance(1_000);
    await t.client(caller.token).data(INVOKE, { input: { virtualKey: key1.id, model: "gpt-4o", messages: [{ role: "USER", content: "in w1" }] } });

    const w1Reader = s.apiKey("member", w1).token;
    const seen = (await t.client(w1Reader).data(RECORDS, { first: 100 })).usageRecords.nodes;
    expect(seen.map((n: any) => [n.workspaceId, n.promptText, n.completionText])).toEqual([[w1, "user: in w1", "workspace answer"]]);
    expect((await t.client(s.apiKey("member", w2).token).data(RECORDS, { first: 100 })).usageRecords.nodes).toEqual([]);
    // Organization-wide USAGE_READ (the owner) reads them all, newest first.
    const all = (await t.client(t.ownerKey).data(RECORDS, { first: 100 })).usageRecords.nodes;
    expect(all[0]).toMatchObject({ workspaceId: w1, promptText: "user: in w1" });
    expect(all.length).toBeGreaterThan(seen.length);
    // A workspace of another organization does not exist for the caller.
    const other = t.createOrganization("Text neighbour");
    const res = await t.client(other.ownerKey).query(RECORDS, { filter: { workspaceId: w1 } });
    expect(res.body.errors?.[0].extensions.code, res.text).toBe("NOT_FOUND");
    expect((await t.client(other.ownerKey).data(RECORDS, { first: 100 })).usageRecords.nodes).toEqual([]);
  });

  it("pages newest first with a cursor and refuses a bad one", async () => {
    const owner = t.client(t.ownerKey);
    const page1 = (await owner.data(RECORDS, { first: 2 })).usageRecords;
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = (await owner.data(RECORDS, { first: 2, after: page1.pageInfo.endCursor })).usageRecords;
    const ids = [...page1.nodes, ...page2.nodes].map((n: { id: string }) => n.id);
    expect(new Set(ids).size).toBe(4);
    expect(await owner.errorCode(RECORDS, { after: "nonsense" })).toBe("BAD_USER_INPUT");
    expect(await owner.errorCode(RECORDS, { first: 101 })).toBe("BAD_USER_INPUT");
  });
});
