// The seam to policy enforcement: invokeModel gathers the call's policies once, and for every
// attempt adds the virtual key's, checks the model actually sent and the caller's address,
// admits before the provider call, settles after success and releases after failure. A
// refusal skips the attempt (FALLBACK goes on). test/invoke/policies.test.ts runs the real
// enforcer through the same calls.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Actual, Admission, AppliedPolicy, CallTargets, Estimate, PolicyEnforcer } from "../../src/gateway/enforcement.types.js";
import { AppError } from "../../src/errors.js";
import { seed } from "../harness/factories.js";
import { startMockProvider, type MockProvider } from "../harness/mock-provider.js";
import { startServer, type TestServer } from "../harness/server.js";
import { hello, INVOKE, invokeEvents, PRIVATE_NETWORK, providerKey, route, USAGE } from "./helpers.js";

type Call = [string, ...unknown[]];

/** Records every call; refuses the models in `refuse` with MODEL_NOT_ALLOWED. */
class RecordingEnforcer implements PolicyEnforcer {
  calls: Call[] = [];
  refuse = new Set<string>();
  private n = 0;
  gather(targets: CallTargets): AppliedPolicy[] {
    this.calls.push(["gather", targets]);
    return [];
  }
  forVirtualKey(_organizationId: string, virtualKeyId: string): AppliedPolicy[] {
    this.calls.push(["forVirtualKey", virtualKeyId]);
    return [];
  }
  checkModel(_applied: AppliedPolicy[], model: string): void {
    this.calls.push(["checkModel", model]);
    if (this.refuse.has(model)) throw new AppError("MODEL_NOT_ALLOWED", `A policy does not allow ${model}`);
  }
  checkAddress(_applied: AppliedPolicy[], ip: string | null): void {
    this.calls.push(["checkAddress", ip]);
  }
  admit(_applied: AppliedPolicy[], estimate: Estimate): Admission {
    this.calls.push(["admit", estimate]);
    return { id: `adm-${++this.n}` };
  }
  admitGrouped(applied: AppliedPolicy[], estimate: Estimate): Promise<Admission> {
    return Promise.resolve(this.admit(applied, estimate));
  }
  settle(admission: Admission, actual: Actual): void {
    this.calls.push(["settle", admission.id, actual]);
  }
  release(admission: Admission): void {
    this.calls.push(["release", admission.id]);
  }
}

const enforcer = new RecordingEnforcer();
let t: TestServer;
let mock: MockProvider;

beforeAll(async () => {
  t = await startServer({ env: PRIVATE_NETWORK, enforcer });
  mock = await startMockProvider();
});
afterAll(async () => {
  await t.stop();
  await mock.close();
});
beforeEach(() => {
  mock.reset();
  enforcer.calls = [];
  enforcer.refuse.clear();
});

describe("invokeModel: the policy enforcer's call points", () => {
  it("gather once; per attempt: key policies, model sent, address, admit; release on failure, settle on success", async () => {
    const ws = seed(t).workspace();
    const apiKey = seed(t).apiKey("member", null, { keyWorkspaceId: ws });
    const a = await providerKey(t, mock.url);
    const b = await providerKey(t, mock.url, { provider: "ANTHROPIC" });
    const r = await route(t, { strategy: "FALLBACK", targets: [{ virtualKey: a.id, model: "gpt-4o" }, { virtualKey: b.id, model: "claude-3-haiku" }] });
    mock.enqueue({ kind: "fail", status: 500 });
    const res = await t.client(apiKey.token).query(INVOKE, { input: { route: r.slug, model: "ignored-by-targets", maxTokens: 100, messages: [{ role: "USER", content: "x".repeat(40) }] } });
    expect(res.body.errors, res.text).toBeUndefined();
    expect(enforcer.calls).toEqual([
      ["gather", { organizationId: t.organizationId, apiKeyId: apiKey.id, userId: null, routeId: r.id, workspaceId: ws }],
      ["forVirtualKey", a.id],
      ["checkModel", "gpt-4o"],
      ["checkAddress", "127.0.0.1"],
      ["admit", { requests: 1, tokens: 110, costUsd: (10 * 2.5 + 100 * 10) / 1e6 }],
      ["release", "adm-1"],
      ["forVirtualKey", b.id],
      ["checkModel", "claude-3-haiku"],
      ["checkAddress", "127.0.0.1"],
      ["admit", { requests: 1, tokens: 110, costUsd: (10 * 0.25 + 100 * 1.25) / 1e6 }],
      ["settle", "adm-2", { tokens: 17, costUsd: (12 * 0.25 + 5 * 1.25) / 1e6 }],
    ]);
  });

  it("a policy refusal skips the attempt without calling the provider; FALLBACK goes on to the next target", async () => {
    const a = await providerKey(t, mock.url);
    const b = await providerKey(t, mock.url);
    const r = await route(t, { strategy: "FALLBACK", targets: [{ virtualKey: a.id, model: "gpt-4" }, { virtualKey: b.id, model: "gpt-4o-mini" }] });
    enforcer.refuse.add("gpt-4");
    const res = await t.client(t.ownerKey).query(INVOKE, { input: { route: r.id, messages: hello } });
    const attempts = res.body.data?.invokeModel.attempts;
    expect(attempts.map((x: any) => [x.model, x.status, x.httpStatus, x.errorCode, x.latencyMs]), res.text).toEqual([
      ["gpt-4", "SKIPPED", null, "MODEL_NOT_ALLOWED", 0],
      ["gpt-4o-mini", "SUCCESS", 200, null, expect.any(Number)],
    ]);
    expect(mock.requests.map((q) => q.body.model)).toEqual(["gpt-4o-mini"]);
    expect(enforcer.calls.filter((c) => c[0] === "admit")).toHaveLength(1);
  });

  it("when every target is refused, the call fails with the policy's error, audited, with no usage and no provider call", async () => {
    const a = await providerKey(t, mock.url);
    enforcer.refuse.add("gpt-4o");
    const before = (await t.client(t.ownerKey).data(USAGE, {})).usage;
    const res = await t.client(t.ownerKey).query(INVOKE, { input: { virtualKey: a.id, model: "gpt-4o", messages: hello } });
    expect(res.body.errors?.[0].extensions.code, res.text).toBe("MODEL_NOT_ALLOWED");
    expect(mock.requests).toHaveLength(0);
    expect((await t.client(t.ownerKey).data(USAGE, {})).usage).toEqual(before);
    const events = await invokeEvents(t, res.headers.get("x-request-id")!);
    expect(events).toEqual([expect.objectContaining({ outcome: "FAILURE", targetId: a.id, details: { routeId: null, virtualKeyId: a.id, model: "gpt-4o", attempts: 1, code: "MODEL_NOT_ALLOWED" } })]);
  });
});
