// The redactor of stored prompt and completion text, pattern by pattern: what it replaces, and
// the ordinary text (numbers, dates, words, identifiers) it leaves alone.
import { describe, expect, it } from "vitest";
import { generateApiKey } from "../../src/crypto/api-key-format.js";
import { newId } from "../../src/ids.js";
import { luhnValid, REDACTED, redactText } from "../../src/privacy/redact.js";

const kept = (text: string) => expect(redactText(text), text).toBe(text);

describe("redactText", () => {
  it("replaces email addresses", () => {
    expect(redactText("Write to ada.lovelace+notes@example.co.uk today")).toBe(`Write to ${REDACTED.email} today`);
    expect(redactText("<bob_99@mail.example.com>")).toBe(`<${REDACTED.email}>`);
  });

  it("replaces phone numbers in international and common national forms", () => {
    for (const phone of ["+1 (555) 123-4567", "+44 20 7946 0958", "+33612345678", "+49-30-1234-5678", "(555) 123-4567", "555-123-4567", "555.123.4567", "020 7946 0958"]) {
      expect(redactText(`call ${phone} now`), phone).toBe(`call ${REDACTED.phone} now`);
    }
  });

  it("replaces card numbers that pass the Luhn check, grouped or not", () => {
    for (const card of ["4111111111111111", "4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005", "6011000990139424"]) {
      expect(redactText(`card ${card}, exp 12/29`), card).toBe(`card ${REDACTED.card}, exp 12/29`);
    }
    expect(luhnValid("79927398713")).toBe(true);
    expect(luhnValid("79927398710")).toBe(false);
  });

  it("keeps digit runs of card length that fail the Luhn check, and placeholders", () => {
    kept("order 4111111111111112 shipped");
    kept("tracking 1234 5678 9012 3456");
    kept("0000 0000 0000 0000");
  });

  it("replaces provider keys, Portcullis API keys, bearer tokens, AWS access keys and JWTs", () => {
    const portcullis = generateApiKey(newId("ApiKey")).token;
    const cases: [string, string][] = [
      ["key sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv", `key ${REDACTED.key}`],
      ["sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345 is mine", `${REDACTED.key} is mine`],
      [`use ${portcullis}`, `use ${REDACTED.key}`],
      ["Authorization: Bearer abc.DEF-ghi_jkl~mno", `Authorization: Bearer ${REDACTED.key}`],
      ["aws AKIAIOSFODNN7EXAMPLE ok", `aws ${REDACTED.key} ok`],
      ["google AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW", `google ${REDACTED.key}`],
      ["jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", `jwt ${REDACTED.key}`],
    ];
    for (const [text, expected] of cases) expect(redactText(text), text).toBe(expected);
  });

  it("replaces long high-entropy tokens, and leaves long words and paths", () => {
    expect(redactText("token=Zx8Qm2Lr7Vt4Np1Ks9Hd3Fb6Jc5Wg0Ye")).toBe(`token=${REDACTED.key}`);
    expect(redactText("sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")).toBe(`sha ${REDACTED.key}`);
    kept("pneumonoultramicroscopicsilicovolcanoconiosis is a word");
    kept("see /usr/share/documentation/getting-started/installation for details");
    kept("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1");
  });

  it("keeps ordinary numbers, dates, times, versions and words", () => {
    kept("In 2024, 1,234,567 people paid $1,299.99 each; pi is 3.14159265358979.");
    kept("Meet on 2026-01-31 at 12:00:00Z, or 31/01/2026, or 01.02.2026.");
    kept("Version 10.4.0 of node 20.19.43 on port 4000; ISBN 978-3-16-148410-0");
    kept("The quick brown fox jumps over the lazy dog. 42 is the answer. x + 12 = 30");
    kept("IDs like ws_2 and requestId req_short stay; so does user@ alone and @handle");
    kept("");
  });

  it("redacts everything in one text and leaves the rest of it as it was", () => {
    const text = "Hi, I am Ada (ada@example.com, +1 555 123 4567). Card 4111 1111 1111 1111. Key sk-live-0123456789abcdefghij. Thanks!";
    expect(redactText(text)).toBe(`Hi, I am Ada (${REDACTED.email}, ${REDACTED.phone}). Card ${REDACTED.card}. Key ${REDACTED.key}. Thanks!`);
  });

  it("stays linear on hostile input: a long run of near-matches", () => {
    // Every quantifier is bounded: over a megabyte of almost-emails, an unbounded pattern would
    // backtrack quadratically past the test's timeout.
    const hostile = "a".repeat(64).concat(".").repeat(16_000) + "@";
    expect(redactText(hostile)).toBe(hostile);
  });
});
