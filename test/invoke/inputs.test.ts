// Inputs of the calling path that once slipped through: a provider option that climbs the URL
// path, and metadata numbers that JSON turns into Infinity.
import { describe, expect, it } from "vitest";
import type { MockProvider } from "../harness/mock-provider.js";
import type { TestServer } from "../harness/server.js";
import { INVOKE, providerKey, useServerAndMockProvider } from "../invoke/helpers.js";

let t: TestServer;
let mock: MockProvider;
useServerAndMockProvider((server, provider) => {
  t = server;
  mock = provider;
});

const CREATE = "mutation($input: CreateVirtualKeyInput!) { createVirtualKey(input: $input) { id } }";

describe("calling-path inputs", () => {
  it("refuses an Azure deployment of . or .. (it would climb the provider's URL path)", async () => {
    for (const deploymentId of [".", ".."]) {
      const code = await t.client(t.ownerKey).errorCode(CREATE, {
        input: { name: `azure ${deploymentId.length}`, provider: "AZURE_OPENAI", secret: "azure-secret-value-1234", providerOptions: { resourceName: "contoso", deploymentId, apiVersion: "2024-10-21" } },
      });
      expect(code).toBe("BAD_USER_INPUT");
    }
  });

  it("answers BAD_USER_INPUT, not an internal error, for metadata numbers beyond JSON's range", async () => {
    const vk = await providerKey(t, mock.url);
    const res = await fetch(`${t.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${t.ownerKey}` },
      body: `{"query": ${JSON.stringify(INVOKE)}, "variables": {"input": {"virtualKey": "${vk.id}", "model": "gpt-4o", "messages": [{"role": "USER", "content": "hi"}], "metadata": {"a": 1e400}}}}`,
    });
    const body = await res.json();
    expect(body.errors?.[0].extensions.code).toBe("BAD_USER_INPUT");
    expect(mock.requests).toHaveLength(0);
  });
});
