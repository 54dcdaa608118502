// Shared steps of the enforcement tests: policies created and attached over HTTP with an owner
// key, targets made over HTTP too, and an enforcer on the server's own database.
import { randomBytes } from "node:crypto";
import { PolicyEnforcer } from "../../src/gateway/policy-enforcer.js";
import type { AppliedPolicy, CallTargets } from "../../src/gateway/enforcement.types.js";
import type { TestServer } from "../harness/server.js";

const CREATE_POLICY = `mutation($input: CreatePolicyInput!) { createPolicy(input: $input) { id } }`;
const UPDATE_POLICY = `mutation($input: UpdatePolicyInput!) { updatePolicy(input: $input) { id } }`;
const ATTACH = `mutation($p: ID!, $t: ID!) { attachPolicy(policyId: $p, targetId: $t) { id } }`;
const DETACH = `mutation($p: ID!, $t: ID!) { detachPolicy(policyId: $p, targetId: $t) { id } }`;
const CREATE_VK = `mutation($input: CreateVirtualKeyInput!) { createVirtualKey(input: $input) { id } }`;
const CREATE_ROUTE = `mutation($input: CreateRouteInput!) { createRoute(input: $input) { id } }`;
const CREATE_WS = `mutation($input: CreateWorkspaceInput!) { createWorkspace(input: $input) { id } }`;

export function steps(t: TestServer, ownerKey = t.ownerKey) {
  const owner = () => t.client(ownerKey);
  return {
    async policy(input: Record<string, unknown>, targets: string[] = []): Promise<string> {
      const id = (await owner().data(CREATE_POLICY, { input: { name: `policy ${randomBytes(4).toString("hex")}`, ...input } })).createPolicy.id as string;
      for (const target of targets) await this.attach(id, target);
      return id;
    },
    async update(input: Record<string, unknown>): Promise<void> {
      await owner().data(UPDATE_POLICY, { input });
    },
    async attach(policyId: string, targetId: string): Promise<void> {
      await owner().data(ATTACH, { p: policyId, t: targetId });
    },
    async detach(policyId: string, targetId: string): Promise<void> {
      await owner().data(DETACH, { p: policyId, t: targetId });
    },
    async workspace(): Promise<string> {
      return (await owner().data(CREATE_WS, { input: { name: `ws ${randomBytes(4).toString("hex")}` } })).createWorkspace.id;
    },
    async virtualKey(workspaceId: string | null = null): Promise<string> {
      return (await owner().data(CREATE_VK, { input: { name: `vk ${randomBytes(4).toString("hex")}`, provider: "OPENAI", secret: `sk-${randomBytes(16).toString("hex")}`, workspaceId } }))
        .createVirtualKey.id;
    },
    async route(virtualKeyId: string, workspaceId: string | null = null): Promise<string> {
      return (await owner().data(CREATE_ROUTE, { input: { name: `route ${randomBytes(4).toString("hex")}`, workspaceId, strategy: "SINGLE", targets: [{ virtualKey: virtualKeyId, model: "gpt-4o" }] } }))
        .createRoute.id;
    },
  };
}

export function enforcer(t: TestServer): PolicyEnforcer {
  return new PolicyEnforcer(t.server.database.db, t.clock);
}

export function targets(t: TestServer, over: Partial<CallTargets>): CallTargets {
  return { organizationId: t.organizationId, apiKeyId: null, userId: null, routeId: null, workspaceId: null, ...over };
}

/** Which (policy, target) pairs apply, in order. */
export function pairs(applied: AppliedPolicy[]): [string, string][] {
  return applied.map((a) => [a.policy.id, a.targetId]);
}

/** The error code a thrown AppError carries, or "none". */
export function codeOf(run: () => unknown): string {
  try {
    run();
    return "none";
  } catch (err) {
    return String((err as { extensions?: { code?: string } }).extensions?.code ?? (err as Error).message);
  }
}

/** The AppError thrown, for its message and extensions. */
export function thrown(run: () => unknown): { message: string; extensions: Record<string, unknown> } {
  try {
    run();
  } catch (err) {
    return err as { message: string; extensions: Record<string, unknown> };
  }
  throw new Error("expected an error");
}

export const ONE_CALL = { requests: 1, tokens: 100, costUsd: 1 };
