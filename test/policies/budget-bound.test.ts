// A budget reserves what a call may cost before it is made. A call that names no maxTokens must
// still be bounded by what was reserved, or concurrent calls overrun the budget together by as
// much as the provider's own output cap allows.
import { describe, expect, it } from "vitest";
import { seed } from "../harness/factories.js";
import type { MockProvider } from "../harness/mock-provider.js";
import type { TestServer } from "../harness/server.js";
import { ownerPolicy, ownerAttach } from "../policies/helpers.js";
import { hello, INVOKE, providerKey, useServerAndMockProvider } from "../invoke/helpers.js";

let t: TestServer;
let mock: MockProvider;
useServerAndMockProvider((server, provider) => {
  t = server;
  mock = provider;
});

const policy = (input: Record<string, unknown>) => ownerPolicy(t, input);
const attach = (p: string, target: string) => ownerAttach(t, p, target);

describe("a budgeted call without maxTokens", () => {
  it("asks every provider for no more completion tokens than it reserved", async () => {
    const caller = seed(t).apiKey("member");
    const p = await policy({ budget: { limitUsd: 1, period: "TOTAL" } });
    await attach(p, caller.id);
    for (const provider of ["OPENAI_COMPATIBLE", "GOOGLE"] as const) {
      const vk = await providerKey(t, mock.url, { provider });
      const res = await t.client(caller.token).query(INVOKE, { input: { virtualKey: vk.id, model: "gpt-4o", messages: hello } });
      expect(res.body.errors, res.text).toBeUndefined();
    }
    const [openai, google] = mock.requests;
    expect(openai.body.max_tokens).toBe(1024);
    expect(google.body.generationConfig?.maxOutputTokens).toBe(1024);
  });

  it("leaves a call under no budget or token limit as the caller sent it", async () => {
    const vk = await providerKey(t, mock.url);
    const res = await t.client(t.ownerKey).query(INVOKE, { input: { virtualKey: vk.id, model: "gpt-4o", messages: hello } });
    expect(res.body.errors, res.text).toBeUndefined();
    expect(mock.requests[0].body.max_tokens).toBeUndefined();
  });
});
