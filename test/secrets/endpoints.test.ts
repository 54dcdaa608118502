// A virtual key's baseUrl: refused in every private notation at creation and rotation, and
// again when connecting (a name that turned private since is refused before any connection).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EndpointRefusedError } from "../../src/net/outbound.js";
import { countingServer, fakeDns, type CountingServer } from "../harness/loopback.js";
import { startServer, type TestServer } from "../harness/server.js";
import { REFUSED_LITERAL_URLS, REFUSED_NAMES } from "../net/notations.js";
import { canary, CREATE_VK, LIST_VK, ROTATE_VK } from "./helpers.js";

const dns = fakeDns({ "llm.example.com": ["93.184.216.34"] });
let t: TestServer;
let target: CountingServer;
let rotated: { id: string };

beforeAll(async () => {
  t = await startServer({ resolver: dns.resolver });
  target = await countingServer();
  rotated = (await t.client(t.ownerKey).data(CREATE_VK, { input: { name: "rotation target", provider: "OPENAI_COMPATIBLE", secret: canary(), baseUrl: "https://llm.example.com/v1" } })).createVirtualKey;
});
afterAll(async () => {
  await t.stop();
  await target.close();
});

const owner = () => t.client(t.ownerKey);

async function refusedAtCreation(baseUrl: string) {
  const res = await owner().query(CREATE_VK, { input: { name: "ssrf", provider: "OPENAI_COMPATIBLE", secret: canary(), baseUrl } });
  expect(res.body.errors?.[0].extensions, res.text).toMatchObject({ code: "BAD_USER_INPUT", field: "baseUrl" });
  return res;
}

async function refusedAtRotation(baseUrl: string) {
  const res = await owner().query(ROTATE_VK, { id: rotated.id, secret: canary(), baseUrl });
  expect(res.body.errors?.[0].extensions, res.text).toMatchObject({ code: "BAD_USER_INPUT", field: "baseUrl" });
}

const privateAnswers = ["127.0.0.1", "::1", "::ffff:127.0.0.1", "10.0.0.5", "172.16.0.1", "192.168.1.1", "100.64.0.1", "169.254.169.254", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "fd00:ec2::254", "fe80::1", "0.0.0.0"];

describe("virtual key endpoints", () => {
  it.each(Object.entries({ ...REFUSED_LITERAL_URLS, ...REFUSED_NAMES }))("refuses %s at creation and at rotation", async (_name, url) => {
    const lookupsBefore = dns.lookups.length;
    const res = await refusedAtCreation(url);
    expect(res.text).not.toContain(url);
    await refusedAtRotation(url);
    // Refused from the URL alone: no lookup was needed.
    expect(dns.lookups.length).toBe(lookupsBefore);
  });

  it.each(privateAnswers)("refuses a name that resolves to %s at creation and at rotation", async (address) => {
    dns.set("internal.example.com", address);
    await refusedAtCreation("https://internal.example.com/v1");
    await refusedAtRotation("https://internal.example.com/v1");
  });

  it("refuses http, credentials, query and fragment", async () => {
    for (const url of ["http://llm.example.com/v1", "https://user:pw@llm.example.com/", "https://llm.example.com/v1?api-version=1", "https://llm.example.com/#x", "not a url"]) {
      await refusedAtCreation(url);
    }
  });

  it("leaves a key untouched when its rotation is refused", async () => {
    await refusedAtRotation("https://169.254.169.254/");
    const opened = await t.server.services.secrets.openSecret(t.organizationId, rotated.id, (s) => s);
    expect(opened.secretVersion).toBe(1);
    expect(opened.endpoint.baseUrl).toBe("https://llm.example.com/v1");
    const names = (await owner().data(LIST_VK, { filter: { provider: "OPENAI_COMPATIBLE" }, first: 100 })).virtualKeys.nodes.map((n: { name: string }) => n.name);
    expect(names).toEqual(["rotation target"]);
  });

  it("re-checks the stored endpoint on rotation", async () => {
    dns.set("drifting.example.com", "93.184.216.34");
    const vk = (await owner().data(CREATE_VK, { input: { name: "drifting", provider: "OPENAI_COMPATIBLE", secret: canary(), baseUrl: "https://drifting.example.com" } })).createVirtualKey;
    dns.set("drifting.example.com", "10.1.1.1");
    const res = await owner().query(ROTATE_VK, { id: vk.id, secret: canary() });
    expect(res.body.errors?.[0].extensions.code).toBe("BAD_USER_INPUT");
  });

  it("refuses at connection time a name that was public at creation and is loopback now, before connecting", async () => {
    dns.set("rebinding.example.com", "93.184.216.34");
    const vk = (
      await owner().data(CREATE_VK, { input: { name: "rebinding", provider: "OPENAI_COMPATIBLE", secret: canary(), baseUrl: `https://rebinding.example.com:${target.port}/v1` } })
    ).createVirtualKey;
    dns.set("rebinding.example.com", "127.0.0.1");
    const before = target.connections();
    const { services } = t.server;
    const call = services.secrets.openSecret(t.organizationId, vk.id, ({ endpoint, secret }) =>
      services.outbound.request(`${endpoint.baseUrl}/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${secret}` }, body: "{}" }),
    );
    await expect(call).rejects.toBeInstanceOf(EndpointRefusedError);
    expect(target.connections()).toBe(before);
  });
});

describe("with PORTCULLIS_ALLOW_PRIVATE_NETWORK", () => {
  it("accepts http and loopback endpoints, and reaches them", async () => {
    const lenient = await startServer({ env: { PORTCULLIS_ALLOW_PRIVATE_NETWORK: "true" }, resolver: fakeDns().resolver });
    try {
      const vk = (
        await lenient.client(lenient.ownerKey).data(CREATE_VK, { input: { name: "local", provider: "OPENAI_COMPATIBLE", secret: canary(), baseUrl: `http://127.0.0.1:${target.port}/v1` } })
      ).createVirtualKey;
      expect(vk.baseUrl).toBe(`http://127.0.0.1:${target.port}/v1`);
      const before = target.connections();
      const { services } = lenient.server;
      const status = await services.secrets.openSecret(lenient.organizationId, vk.id, async ({ endpoint }) => {
        const res = await services.outbound.request(`${endpoint.baseUrl}/models`);
        await res.body.dump();
        return res.statusCode;
      });
      expect(status).toBe(200);
      expect(target.connections()).toBe(before + 1);
    } finally {
      await lenient.stop();
    }
  });
});
