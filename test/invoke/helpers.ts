// Shared steps of the invokeModel tests: documents, virtual keys that point at the mock
// provider, routes over them, and audit and usage reads.
import { afterAll, beforeAll, beforeEach } from "vitest";
import { startMockProvider, type MockProvider } from "../harness/mock-provider.js";
import { startServer, type TestServer } from "../harness/server.js";

export const PRIVATE_NETWORK = { PORTCULLIS_ALLOW_PRIVATE_NETWORK: "true" };

export const INVOKE = `mutation($input: InvokeModelInput!) { invokeModel(input: $input) {
  id provider model message { role content } finishReason usage { promptTokens completionTokens totalTokens } costUsd latencyMs
  attempts { virtualKey { id } provider model status httpStatus latencyMs errorCode } } }`;

export const USAGE = `query($filter: UsageFilter) { usage(filter: $filter) { requests errors promptTokens completionTokens costUsd } }`;

const CREATE_VK = `mutation($input: CreateVirtualKeyInput!) { createVirtualKey(input: $input) { id slug } }`;
const CREATE_ROUTE = `mutation($input: CreateRouteInput!) { createRoute(input: $input) { id slug } }`;

let counter = 0;

export interface KeyOptions {
  provider?: "OPENAI" | "OPENAI_COMPATIBLE" | "ANTHROPIC" | "AZURE_OPENAI" | "GOOGLE";
  secret?: string;
  workspaceId?: string | null;
  providerOptions?: Record<string, string>;
  token?: string;
}

/** A virtual key made over HTTP whose baseUrl is the mock provider. */
export async function providerKey(t: TestServer, baseUrl: string, opts: KeyOptions = {}): Promise<{ id: string; slug: string; secret: string }> {
  counter += 1;
  const secret = opts.secret ?? `sk-test-${counter}-${"s".repeat(32)}`;
  const input = {
    name: `Provider key ${counter}`,
    provider: opts.provider ?? "OPENAI_COMPATIBLE",
    secret,
    baseUrl,
    workspaceId: opts.workspaceId ?? null,
    ...(opts.providerOptions && { providerOptions: opts.providerOptions }),
  };
  const created = (await t.client(opts.token ?? t.ownerKey).data(CREATE_VK, { input })).createVirtualKey;
  return { ...created, secret };
}

export async function route(t: TestServer, input: Record<string, unknown>, token = t.ownerKey): Promise<{ id: string; slug: string }> {
  counter += 1;
  return (await t.client(token).data(CREATE_ROUTE, { input: { name: `Route ${counter}`, ...input } })).createRoute;
}

export const hello = [{ role: "USER", content: "Hello there" }];

export interface AuditRow {
  action: string;
  outcome: string;
  targetKind: string | null;
  targetId: string | null;
  workspaceId: string | null;
  requestId: string | null;
  details: Record<string, any> | null;
}

/** The invokeModel audit events of a request (every page: events come oldest first). */
export async function invokeEvents(t: TestServer, requestId: string): Promise<AuditRow[]> {
  const found: AuditRow[] = [];
  let after: string | null = null;
  for (;;) {
    const data: any = await t
      .client(t.ownerKey)
      .data(
        `query($f: AuditFilter, $after: String) { auditEvents(filter: $f, first: 100, after: $after) {
          nodes { action outcome targetKind targetId workspaceId requestId details } pageInfo { hasNextPage endCursor } } }`,
        { f: { action: "invokeModel" }, after },
      );
    found.push(...data.auditEvents.nodes.filter((e: AuditRow) => e.requestId === requestId));
    if (!data.auditEvents.pageInfo.hasNextPage) return found;
    after = data.auditEvents.pageInfo.endCursor;
  }
}

/**
 * Registers the usual hooks of a calling test file: a server that may reach loopback providers
 * and a mock provider, started once for the file and reset before each test.
 */
export function useServerAndMockProvider(ready: (t: TestServer, mock: MockProvider) => void): void {
  let t: TestServer;
  let mock: MockProvider;
  beforeAll(async () => {
    t = await startServer({ env: PRIVATE_NETWORK });
    mock = await startMockProvider();
    ready(t, mock);
  });
  afterAll(async () => {
    await t.stop();
    await mock.close();
  });
  beforeEach(() => {
    mock.reset();
    // Targets are shared by the tests of a file; each test starts with every circuit closed.
    t.server.services.health.clear();
  });
}
