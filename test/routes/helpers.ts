// Shared steps of the routes tests: documents, and virtual keys made over HTTP to route to.
import type { TestServer } from "../harness/server.js";

export const ROUTE_FIELDS = `id name slug strategy timeoutMs createdAt updatedAt workspace { id }
  retry { attempts onStatusCodes } targets { model weight virtualKey { id slug workspace { id } } }`;

export const CREATE_ROUTE = `mutation($input: CreateRouteInput!) { createRoute(input: $input) { ${ROUTE_FIELDS} } }`;
export const UPDATE_ROUTE = `mutation($input: UpdateRouteInput!) { updateRoute(input: $input) { ${ROUTE_FIELDS} } }`;
export const DELETE_ROUTE = `mutation($id: ID!) { deleteRoute(id: $id) { deletedId } }`;
export const LIST_ROUTES = `query($first: Int, $after: String) {
  routes(first: $first, after: $after) { nodes { id slug workspace { id } targets { virtualKey { id } } } pageInfo { hasNextPage endCursor } totalCount } }`;
export const NODE_ROUTE = `query($id: ID!) { node(id: $id) { id ... on Route { ${ROUTE_FIELDS} } } }`;
export const CREATE_VK = `mutation($input: CreateVirtualKeyInput!) { createVirtualKey(input: $input) { id slug } }`;
export const DELETE_VK = `mutation($id: ID!) { deleteVirtualKey(id: $id) { deletedId } }`;
export const DELETE_WS = `mutation($id: ID!) { deleteWorkspace(id: $id) { deletedId } }`;

let counter = 0;

/** A virtual key made over HTTP by the given key (the organization's owner by default). */
export async function virtualKey(t: TestServer, opts: { workspaceId?: string | null; token?: string; slug?: string } = {}): Promise<{ id: string; slug: string }> {
  counter += 1;
  const input = { name: `Provider key ${counter}`, slug: opts.slug, provider: "OPENAI", secret: `sk-test-${"k".repeat(30)}${counter}`, workspaceId: opts.workspaceId ?? null };
  return (await t.client(opts.token ?? t.ownerKey).data(CREATE_VK, { input })).createVirtualKey;
}

export interface AuditRow {
  action: string;
  outcome: string;
  targetKind: string | null;
  targetId: string | null;
  workspaceId: string | null;
  details: Record<string, unknown> | null;
}

export async function auditFor(t: TestServer, targetId: string, token = t.ownerKey): Promise<AuditRow[]> {
  const data = await t
    .client(token)
    .data(`query($f: AuditFilter) { auditEvents(filter: $f, first: 20) { nodes { action outcome targetKind targetId workspaceId details } } }`, { f: { targetId } });
  return data.auditEvents.nodes;
}
