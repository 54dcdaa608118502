// Who may call a model through a route or a virtual key: MODEL_INVOKE where it lives, and, for
// an API key of a workspace, only what belongs to that workspace or to the whole organization.
import { Permission } from "../../auth/permission.js";
import type { RequestMeta } from "../../context.js";
import { forbidden, notFound } from "../../errors.js";

export function mayInvoke(meta: RequestMeta, workspaceId: string | null): boolean {
  const { access, apiKey } = meta.principal;
  const outsideKeyWorkspace = !!apiKey?.workspaceId && workspaceId !== null && workspaceId !== apiKey.workspaceId;
  return !outsideKeyWorkspace && access.has(Permission.MODEL_INVOKE, workspaceId);
}

/** What the caller may read but not invoke is FORBIDDEN; what it cannot even read does not exist for it (NOT_FOUND). */
export function assertMayInvoke(meta: RequestMeta, workspaceId: string | null, read: Permission, kind: "Route" | "VirtualKey"): void {
  if (mayInvoke(meta, workspaceId)) return;
  if (!meta.principal.access.has(read, workspaceId)) throw notFound(kind);
  const what = kind === "Route" ? "route" : "virtual key";
  const apiKey = meta.principal.apiKey;
  throw forbidden(
    apiKey?.workspaceId && workspaceId !== null && workspaceId !== apiKey.workspaceId
      ? `An API key of a workspace may invoke only a ${what} of its own workspace or an organization-wide one`
      : `Invoking this ${what} needs MODEL_INVOKE where it lives`,
  );
}
