// A provider that was sent the request and then timed out, or answered 2xx with a body that
// cannot be read, has done (and billed) the work: the reservation is spent, not given back.
// Otherwise a caller under a budget spends without limit through calls that never settle.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seed } from "../harness/factories.js";
import { startMockProvider, type MockProvider } from "../harness/mock-provider.js";
import { startServer, type TestServer } from "../harness/server.js";
import { ownerPolicy, ATTACH } from "../policies/helpers.js";
import { hello, INVOKE, PRIVATE_NETWORK, providerKey, route } from "../invoke/helpers.js";

let t: TestServer;
let mock: MockProvider;
let garbled: Server;
let garbledUrl: string;
beforeAll(async () => {
  t = await startServer({ env: PRIVATE_NETWORK });
  mock = await startMockProvider();
  // Answers 200 with a body that is not JSON: the provider did the work, the gateway cannot read it.
  garbled = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end("{not json"));
  });
  await new Promise<void>((resolve) => garbled.listen(0, "127.0.0.1", resolve));
  garbledUrl = `http://127.0.0.1:${(garbled.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await t.stop();
  await mock.close();
  await new Promise((resolve) => garbled.close(resolve));
});

// What one call reserves: "Hello there" is 3 prompt tokens by estimate, maxTokens 5 completion, at gpt-4o prices.
const PER_CALL = (3 * 2.5 + 5 * 10) / 1_000_000;
const policy = (input: Record<string, unknown>) => ownerPolicy(t, input);
const codeOf = (res: { body: any }) => res.body.errors?.[0]?.extensions.code ?? "OK";
const invoke = (token: string, input: Record<string, unknown>) => t.client(token).query(INVOKE, { input: { messages: hello, model: "gpt-4o", maxTokens: 5, ...input } });

async function budgetedCaller(): Promise<string> {
  const caller = seed(t).apiKey("member");
  const p = await policy({ budget: { limitUsd: PER_CALL * 1.5, period: "TOTAL" } });
  await t.client(t.ownerKey).data(ATTACH, { p, t: caller.id });
  return caller.token;
}

describe("budget of a call the provider received but did not answer readably", () => {
  it("a timed-out attempt spends its reservation", async () => {
    const token = await budgetedCaller();
    const stalled = await providerKey(t, mock.url);
    const r = await route(t, { strategy: "SINGLE", timeoutMs: 100, targets: [{ virtualKey: stalled.id }] });
    mock.enqueue({ kind: "stall" });
    expect(codeOf(await invoke(token, { route: r.id }))).toBe("PROVIDER_TIMEOUT");
    const healthy = await providerKey(t, mock.url);
    expect(codeOf(await invoke(token, { virtualKey: healthy.id }))).toBe("BUDGET_EXCEEDED");
  });

  it("a 2xx answer that cannot be read spends its reservation", async () => {
    const token = await budgetedCaller();
    const vk = await providerKey(t, garbledUrl);
    expect(codeOf(await invoke(token, { virtualKey: vk.id }))).toBe("PROVIDER_ERROR");
    const healthy = await providerKey(t, mock.url);
    expect(codeOf(await invoke(token, { virtualKey: healthy.id }))).toBe("BUDGET_EXCEEDED");
  });

  it("an HTTP error answer gives the reservation back", async () => {
    const token = await budgetedCaller();
    const vk = await providerKey(t, mock.url);
    mock.enqueue({ kind: "fail", status: 400 });
    expect(codeOf(await invoke(token, { virtualKey: vk.id }))).toBe("PROVIDER_ERROR");
    expect(codeOf(await invoke(token, { virtualKey: vk.id }))).toBe("OK");
  });
});
