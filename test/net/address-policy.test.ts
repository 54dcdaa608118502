// Every notation of a refused address, judged without the network.
import { describe, expect, it } from "vitest";
import { addressRefusal, checkUrlShape, EndpointRefusedError } from "../../src/net/address-policy.js";
import { REFUSED_LITERAL_URLS, REFUSED_NAMES } from "./notations.js";

const strict = { allowPrivateNetwork: false };
const lenient = { allowPrivateNetwork: true };

describe("address policy", () => {
  it.each(Object.entries(REFUSED_LITERAL_URLS))("refuses %s (%s) before any lookup", (_name, url) => {
    expect(() => checkUrlShape(url, strict)).toThrow(EndpointRefusedError);
  });

  it.each(Object.entries(REFUSED_NAMES))("refuses the name %s", (_name, url) => {
    expect(() => checkUrlShape(url, strict)).toThrow(EndpointRefusedError);
  });

  it("judges resolved addresses the same way", () => {
    for (const a of ["127.0.0.1", "::1", "::ffff:127.0.0.1", "::ffff:7f00:1", "::7f00:1", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::a00:1", "10.0.0.1", "100.64.1.1", "169.254.169.254", "fd00:ec2::254", "fe80::1", "::", "0.0.0.0", "4000::1"]) {
      expect(addressRefusal(a), a).toBeDefined();
    }
    for (const a of ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]) {
      expect(addressRefusal(a), a).toBeUndefined();
    }
    expect(addressRefusal("not-an-address")).toBe("not an IP address");
  });

  it("accepts public https endpoints", () => {
    for (const url of ["https://api.openai.com/v1", "https://8.8.8.8/", "https://[2606:4700:4700::1111]/", "https://example.com:8443/openai"]) {
      expect(checkUrlShape(url, strict).protocol).toBe("https:");
    }
  });

  it("refuses http, credentials, queries, fragments and garbage, without echoing them", () => {
    const cases = ["http://api.example.com/", "https://user:hunter2@api.example.com/", "https://api.example.com/?key=hunter2", "https://api.example.com/#hunter2", "https://api.example.com/?", "ftp://api.example.com/", "not a url hunter2", "file:///etc/passwd"];
    for (const url of cases) {
      let err: unknown;
      try {
        checkUrlShape(url, strict);
      } catch (e) {
        err = e;
      }
      expect(err, url).toBeInstanceOf(EndpointRefusedError);
      expect((err as Error).message).not.toContain("hunter2");
    }
  });

  it("lets PORTCULLIS_ALLOW_PRIVATE_NETWORK allow http and private addresses, but never credentials", () => {
    expect(checkUrlShape("http://127.0.0.1:8080/v1", lenient).hostname).toBe("127.0.0.1");
    expect(checkUrlShape("https://[::1]/", lenient).hostname).toBe("[::1]");
    expect(() => checkUrlShape("http://u:p@127.0.0.1/", lenient)).toThrow(EndpointRefusedError);
    expect(() => checkUrlShape("ftp://127.0.0.1/", lenient)).toThrow(EndpointRefusedError);
  });
});
