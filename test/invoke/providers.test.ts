// invokeModel through a virtual key, one provider wire format at a time: the right request
// reaches the right host with the right credential, and the normalized answer comes back.
import { describe, expect, it } from "vitest";
import { startMockProvider, MOCK_COMPLETION_TOKENS, MOCK_PROMPT_TOKENS, type MockProvider } from "../harness/mock-provider.js";
import type { TestServer } from "../harness/server.js";
import { hello, INVOKE, invokeEvents, providerKey, useServerAndMockProvider } from "./helpers.js";

let t: TestServer;
let mock: MockProvider;
useServerAndMockProvider((server, provider) => {
  t = server;
  mock = provider;
});

const invoke = (input: Record<string, unknown>) => t.client(t.ownerKey).query(INVOKE, { input: { messages: hello, ...input } });

describe("invokeModel: providers", () => {
  it("OPENAI_COMPATIBLE: Bearer secret to {baseUrl}/v1/chat/completions, answer normalized", async () => {
    const key = await providerKey(t, mock.url);
    const res = await invoke({ virtualKey: key.slug, model: "gpt-4o", temperature: 0.5, maxTokens: 50, topP: 0.9, stop: ["END"], messages: [{ role: "SYSTEM", content: "Be brief" }, ...hello] });
    expect(res.body.errors, res.text).toBeUndefined();
    const out = res.body.data.invokeModel;
    expect(out.id).toBe(res.headers.get("x-request-id"));
    expect(out).toMatchObject({
      provider: "OPENAI_COMPATIBLE",
      model: "gpt-4o",
      message: { role: "ASSISTANT", content: "mock reply to: Hello there" },
      finishReason: "stop",
      usage: { promptTokens: MOCK_PROMPT_TOKENS, completionTokens: MOCK_COMPLETION_TOKENS, totalTokens: MOCK_PROMPT_TOKENS + MOCK_COMPLETION_TOKENS },
    });
    expect(out.costUsd).toBeCloseTo((MOCK_PROMPT_TOKENS * 2.5 + MOCK_COMPLETION_TOKENS * 10) / 1e6, 12);
    expect(out.attempts).toEqual([{ virtualKey: { id: key.id }, provider: "OPENAI_COMPATIBLE", model: "gpt-4o", status: "SUCCESS", httpStatus: 200, latencyMs: expect.any(Number), errorCode: null }]);
    expect(mock.requests).toHaveLength(1);
    const sent = mock.requests[0];
    expect(sent.path).toBe("/v1/chat/completions");
    expect(sent.authorization).toBe(`Bearer ${key.secret}`);
    expect(sent.body).toEqual({
      model: "gpt-4o",
      messages: [
        { role: "system", content: "Be brief" },
        { role: "user", content: "Hello there" },
      ],
      temperature: 0.5,
      max_tokens: 50,
      top_p: 0.9,
      stop: ["END"],
    });
  });

  it("OPENAI with a baseUrl override speaks the same format, by ID as well as by slug", async () => {
    const key = await providerKey(t, mock.url, { provider: "OPENAI", providerOptions: { organization: "org-123" } });
    const res = await invoke({ virtualKey: key.id, model: "gpt-4o-mini" });
    expect(res.body.data?.invokeModel.provider, res.text).toBe("OPENAI");
    expect(mock.requests[0].authorization).toBe(`Bearer ${key.secret}`);
    expect(mock.requests[0].path).toBe("/v1/chat/completions");
  });

  it("ANTHROPIC: x-api-key and anthropic-version, system apart, max_tokens defaulted", async () => {
    const key = await providerKey(t, mock.url, { provider: "ANTHROPIC" });
    const res = await invoke({ virtualKey: key.slug, model: "claude-3-5-haiku-20241022", messages: [{ role: "SYSTEM", content: "Be brief" }, ...hello, { role: "ASSISTANT", content: "Hi" }, { role: "USER", content: "Bye" }] });
    expect(res.body.errors, res.text).toBeUndefined();
    const out = res.body.data.invokeModel;
    expect(out).toMatchObject({ provider: "ANTHROPIC", model: "claude-3-5-haiku-20241022", message: { content: "mock reply to: Bye" }, finishReason: "stop" });
    expect(out.costUsd).toBeCloseTo((MOCK_PROMPT_TOKENS * 0.8 + MOCK_COMPLETION_TOKENS * 4) / 1e6, 12);
    const sent = mock.requests[0];
    expect(sent.path).toBe("/v1/messages");
    expect(sent.xApiKey).toBe(key.secret);
    expect(sent.authorization).toBeNull();
    expect(sent.anthropicVersion).toBe("2023-06-01");
    expect(sent.body).toEqual({
      model: "claude-3-5-haiku-20241022",
      max_tokens: 1024,
      system: "Be brief",
      messages: [
        { role: "user", content: "Hello there" },
        { role: "assistant", content: "Hi" },
        { role: "user", content: "Bye" },
      ],
    });
  });

  it("AZURE_OPENAI: the deployment path, api-version query and api-key header from the sealed options", async () => {
    const key = await providerKey(t, mock.url, { provider: "AZURE_OPENAI", providerOptions: { resourceName: "contoso", deploymentId: "gpt4o-prod", apiVersion: "2024-06-01" } });
    const res = await invoke({ virtualKey: key.slug, model: "gpt-4o" });
    expect(res.body.data?.invokeModel.provider, res.text).toBe("AZURE_OPENAI");
    const sent = mock.requests[0];
    expect(sent.path).toBe("/openai/deployments/gpt4o-prod/chat/completions");
    expect(sent.query).toBe("api-version=2024-06-01");
    expect(sent.azureApiKey).toBe(key.secret);
    expect(sent.authorization).toBeNull();
  });

  it("GOOGLE: generateContent with x-goog-api-key, the key never in the URL", async () => {
    const key = await providerKey(t, mock.url, { provider: "GOOGLE" });
    const res = await invoke({ virtualKey: key.slug, model: "gemini-2.0-flash", maxTokens: 20, messages: [{ role: "SYSTEM", content: "Be brief" }, ...hello] });
    expect(res.body.errors, res.text).toBeUndefined();
    expect(res.body.data.invokeModel).toMatchObject({ provider: "GOOGLE", message: { content: "mock reply to: Hello there" }, finishReason: "stop" });
    const sent = mock.requests[0];
    expect(sent.path).toBe("/v1beta/models/gemini-2.0-flash:generateContent");
    expect(sent.query).toBe("");
    expect(sent.googApiKey).toBe(key.secret);
    expect(sent.body).toEqual({
      contents: [{ role: "user", parts: [{ text: "Hello there" }] }],
      systemInstruction: { parts: [{ text: "Be brief" }] },
      generationConfig: { maxOutputTokens: 20 },
    });
  });

  it("each key's secret goes to its own host only", async () => {
    const other = await startMockProvider();
    try {
      const a = await providerKey(t, mock.url);
      const b = await providerKey(t, other.url, { provider: "ANTHROPIC" });
      await invoke({ virtualKey: a.id, model: "gpt-4o" });
      await invoke({ virtualKey: b.id, model: "claude-3-haiku" });
      expect(mock.requests.map((r) => r.authorization)).toEqual([`Bearer ${a.secret}`]);
      expect(other.requests.map((r) => r.xApiKey)).toEqual([b.secret]);
      expect(JSON.stringify(other.requests)).not.toContain(a.secret);
      expect(JSON.stringify(mock.requests)).not.toContain(b.secret);
    } finally {
      await other.close();
    }
  });

  it("an unknown model is priced at 0, and the call is audited without prompt or completion", async () => {
    const key = await providerKey(t, mock.url);
    const res = await t.client(t.ownerKey).query(INVOKE, { input: { virtualKey: key.id, model: "my-local-llama", messages: [{ role: "USER", content: "PROMPT-MARKER-123" }], metadata: { traceId: "abc" } } });
    expect(res.body.data?.invokeModel.costUsd, res.text).toBe(0);
    const events = await invokeEvents(t, res.body.data.invokeModel.id);
    expect(events).toEqual([
      {
        action: "invokeModel",
        outcome: "SUCCESS",
        targetKind: "VirtualKey",
        targetId: key.id,
        workspaceId: null,
        requestId: res.body.data.invokeModel.id,
        details: { routeId: null, virtualKeyId: key.id, model: "my-local-llama", attempts: 1, metadata: { traceId: "abc" } },
      },
    ]);
    expect(JSON.stringify(events)).not.toContain("PROMPT-MARKER");
    expect(JSON.stringify(events)).not.toContain("mock reply");
  });
});
