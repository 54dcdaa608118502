import type { Access } from "./access.js";

export interface Principal {
  kind: "USER" | "API_KEY";
  /** usr_... or ak_... */
  id: string;
  organizationId: string;
  access: Access;
  /** For an API key: its workspace (null for an organization-wide key) and owner. */
  apiKey?: { id: string; workspaceId: string | null; ownerUserId: string | null };
}
