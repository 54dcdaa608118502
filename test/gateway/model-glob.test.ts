// The model glob matcher: exact semantics of *, letter case, deny over allow, and time linear in
// the input even for patterns built to make a backtracking matcher explode.
import { describe, expect, it } from "vitest";
import { compileModelGlob, ModelRules } from "../../src/gateway/model-glob.js";

describe("model globs", () => {
  it.each([
    ["gpt-4o", "gpt-4o", true],
    ["gpt-4o", "gpt-4o-mini", false],
    ["gpt-4o*", "gpt-4o", true],
    ["gpt-4o*", "gpt-4o-mini", true],
    ["gpt-4o*", "gpt-4", false],
    ["*", "", true],
    ["*", "anything/at:all", true],
    ["*-mini", "gpt-4o-mini", true],
    ["*-mini", "gpt-4o-mini-2024", false],
    ["claude-*-sonnet-*", "claude-3-5-sonnet-20241022", true],
    ["claude-*-sonnet-*", "claude-3-5-haiku-20241022", false],
    ["a*a", "a", false],
    ["a*a", "aa", true],
    ["ab*ba", "aba", false],
    ["*ab*ab*", "abab", true],
    ["*ab*ab*", "aab", false],
    ["*aab*", "aaab", true],
    ["*abcabd*", "abcabcabd", true],
    ["models/*/v1", "models/gemini-1.5-pro/v1", true],
    ["models/*/v1", "models/v1", false],
  ])("%s against %s is %s", (pattern, name, expected) => {
    expect(compileModelGlob(pattern)(name)).toBe(expected);
  });

  it("has no special characters but *: dots, slashes and colons are literal", () => {
    expect(compileModelGlob("gpt-4.1")("gpt-401")).toBe(false);
    expect(compileModelGlob("ft:gpt-4o:org:*")("ft:gpt-4o:org:abc")).toBe(true);
  });

  it("runs in linear time on patterns that make backtracking matchers exponential or quadratic", () => {
    const name = "a".repeat(100_000) + "b";
    const patterns = ["*a".repeat(100) + "*c", "a*".repeat(100) + "c", "*" + "a".repeat(120) + "c*", "*aaaaaaaab*aaaaaaaac"];
    const started = performance.now();
    for (const p of patterns) expect(compileModelGlob(p)(name)).toBe(false);
    expect(compileModelGlob("*a".repeat(100) + "*b")(name)).toBe(true);
    // About 1 ms of work each; a backtracking matcher would not finish at all.
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe("allow and deny lists", () => {
  it("null allows any model, an empty list none, and a denial wins over an allowance", () => {
    expect(new ModelRules(null, []).allows("whatever")).toBe(true);
    expect(new ModelRules([], []).allows("gpt-4o")).toBe(false);
    const rules = new ModelRules(["gpt-4o*"], ["gpt-4o-mini*"]);
    expect(rules.allows("gpt-4o")).toBe(true);
    expect(rules.allows("gpt-4o-mini")).toBe(false);
    expect(rules.allows("claude-3")).toBe(false);
  });

  it("allows case-sensitively but denies in any letter case", () => {
    const rules = new ModelRules(["gpt-4o*"], ["gpt-4o-mini*"]);
    expect(rules.allows("GPT-4o")).toBe(false);
    expect(rules.allows("gpt-4o-MINI")).toBe(false);
    expect(new ModelRules(null, ["GPT-4O"]).allows("gpt-4o")).toBe(false);
    expect(new ModelRules(null, ["gpt-4o"]).allows("Gpt-4O")).toBe(false);
  });
});
