// OpenAI-compatible base URLs as people copy them, through the whole way in: createVirtualKey
// accepts and stores them, and the adapter turns the stored form into the provider's endpoint.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAiCompatible } from "../../src/providers/openai-compatible/index.js";
import { fakeDns } from "../harness/loopback.js";
import { startServer, type TestServer } from "../harness/server.js";

const CREATE_VK = `mutation($input: CreateVirtualKeyInput!) { createVirtualKey(input: $input) { id baseUrl } }`;

async function stored(t: TestServer, baseUrl: string): Promise<string> {
  const input = { name: `Compatible ${Math.random()}`, provider: "OPENAI_COMPATIBLE", secret: `sk-${"c".repeat(40)}`, baseUrl };
  return (await t.client(t.ownerKey).data(CREATE_VK, { input })).createVirtualKey.baseUrl;
}

const chatUrl = (baseUrl: string) => openAiCompatible.chatRequest({ provider: "OPENAI_COMPATIBLE", baseUrl, providerOptions: null }, "k", { model: "m", messages: [] }, false).url;

describe("public servers", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({ resolver: fakeDns({ "api.groq.com": ["93.184.216.34"], "api.together.xyz": ["93.184.216.35"] }).resolver });
  });
  afterAll(() => t.stop());

  it.each([
    ["https://api.groq.com/openai/v1", "https://api.groq.com/openai/v1/chat/completions"],
    ["https://api.groq.com/openai/v1/", "https://api.groq.com/openai/v1/chat/completions"],
    ["https://api.groq.com/openai", "https://api.groq.com/openai/v1/chat/completions"],
    ["https://api.together.xyz", "https://api.together.xyz/v1/chat/completions"],
  ])("%s is accepted and reaches %s", async (baseUrl, url) => {
    expect(chatUrl(await stored(t, baseUrl))).toBe(url);
  });
});

describe("local servers, with private networks allowed", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({ env: { PORTCULLIS_ALLOW_PRIVATE_NETWORK: "true" } });
  });
  afterAll(() => t.stop());

  it.each(["http://localhost:11434", "http://localhost:11434/", "http://localhost:11434/v1"])("%s is accepted and reaches /v1/chat/completions", async (baseUrl) => {
    expect(chatUrl(await stored(t, baseUrl))).toBe("http://localhost:11434/v1/chat/completions");
  });
});
