// A call is priced by the model that served it as well as by the name the caller sent: Azure
// serves its deployment's model whatever the request names, and compatible servers may alias.
// Priced by the caller's name alone, any unpriced name made a call free, and budgets blind.
import { describe, expect, it } from "vitest";
import { seed } from "../harness/factories.js";
import type { MockProvider } from "../harness/mock-provider.js";
import type { TestServer } from "../harness/server.js";
import { ATTACH, CREATE as CREATE_POLICY } from "../policies/helpers.js";
import { hello, INVOKE, providerKey, useServerAndMockProvider } from "../invoke/helpers.js";

let t: TestServer;
let mock: MockProvider;
useServerAndMockProvider((server, provider) => {
  t = server;
  mock = provider;
});

const codeOf = (res: { body: any }) => res.body.errors?.[0]?.extensions.code ?? "OK";

describe("pricing of a call", () => {
  it("counts the served model's price against the budget when the caller names an unpriced model", async () => {
    const vk = await providerKey(t, mock.url, { provider: "AZURE_OPENAI", providerOptions: { resourceName: "res", deploymentId: "prod", apiVersion: "2024-02-01" } });
    const caller = seed(t).apiKey("member");
    const p = (await t.client(t.ownerKey).data(CREATE_POLICY, { input: { name: "azure budget", budget: { limitUsd: 0.01, period: "TOTAL" } } })).createPolicy.id;
    await t.client(t.ownerKey).data(ATTACH, { p, t: caller.id });
    mock.setDefault({ kind: "ok", model: "gpt-4o-2024-08-06", promptTokens: 1000, completionTokens: 1000 });
    const input = { virtualKey: vk.id, model: "anything-at-all", messages: hello };

    const first = await t.client(caller.token).query(INVOKE, { input });
    expect(first.body.errors, first.text).toBeUndefined();
    const served = (1000 * 2.5 + 1000 * 10) / 1_000_000;
    expect(first.body.data.invokeModel.costUsd).toBeCloseTo(served, 12);
    const { usage } = await t.client(t.ownerKey).data("query($k: ID) { usage(filter: {apiKeyId: $k}) { costUsd } }", { k: caller.id });
    expect(usage.costUsd).toBeCloseTo(served, 12);

    expect(codeOf(await t.client(caller.token).query(INVOKE, { input }))).toBe("BUDGET_EXCEEDED");
    expect(mock.requests).toHaveLength(1);
  });
});
