// Effective permissions of a principal: organization-wide ones, plus those bound per workspace.
import { ALL_PERMISSIONS, Permission } from "./permission.js";

export interface Binding {
  id: string;
  roleId: string;
  workspaceId: string | null;
  permissions: readonly string[];
}

export class Access {
  constructor(
    readonly orgWide: ReadonlySet<Permission>,
    readonly byWorkspace: ReadonlyMap<string, ReadonlySet<Permission>>,
  ) {}

  static fromBindings(bindings: readonly Binding[]): Access {
    const orgWide = new Set<Permission>();
    const byWorkspace = new Map<string, Set<Permission>>();
    for (const b of bindings) {
      const target = b.workspaceId === null ? orgWide : getOrCreate(byWorkspace, b.workspaceId);
      for (const p of b.permissions) if (isPermission(p)) target.add(p);
    }
    return new Access(orgWide, byWorkspace);
  }

  static none(): Access {
    return new Access(new Set(), new Map());
  }

  /** Held organization-wide (workspaceId null or omitted), or there or organization-wide. */
  has(permission: Permission, workspaceId: string | null = null): boolean {
    if (this.orgWide.has(permission)) return true;
    return workspaceId !== null && (this.byWorkspace.get(workspaceId)?.has(permission) ?? false);
  }

  hasAnywhere(permission: Permission): boolean {
    if (this.orgWide.has(permission)) return true;
    for (const set of this.byWorkspace.values()) if (set.has(permission)) return true;
    return false;
  }

  /** Where the permission is held: everywhere, or only in the listed workspaces. */
  scopeOf(permission: Permission): { orgWide: true } | { orgWide: false; workspaceIds: string[] } {
    if (this.orgWide.has(permission)) return { orgWide: true };
    const workspaceIds = [...this.byWorkspace].filter(([, set]) => set.has(permission)).map(([id]) => id);
    return { orgWide: false, workspaceIds };
  }

  permissionsIn(workspaceId: string | null = null): Permission[] {
    const set = new Set(this.orgWide);
    if (workspaceId !== null) for (const p of this.byWorkspace.get(workspaceId) ?? []) set.add(p);
    return ALL_PERMISSIONS.filter((p) => set.has(p));
  }

  /** Everything held in one scope is also held here in that scope. */
  coversIn(permissions: Iterable<Permission>, workspaceId: string | null): boolean {
    for (const p of permissions) if (!this.has(p, workspaceId)) return false;
    return true;
  }

  /** Dominance: this access includes every permission the other holds, wherever it holds it. */
  dominates(other: Access): boolean {
    if (!this.coversIn(other.orgWide, null)) return false;
    for (const [ws, set] of other.byWorkspace) if (!this.coversIn(set, ws)) return false;
    return true;
  }

  /** What both hold, scope by scope: a person's key acts with at most the person's permissions. */
  intersect(other: Access): Access {
    const orgWide = new Set([...this.orgWide].filter((p) => other.orgWide.has(p)));
    const byWorkspace = new Map<string, Set<Permission>>();
    for (const ws of new Set([...this.byWorkspace.keys(), ...other.byWorkspace.keys()])) {
      const set = new Set(this.permissionsIn(ws).filter((p) => other.has(p, ws) && !orgWide.has(p)));
      if (set.size > 0) byWorkspace.set(ws, set);
    }
    return new Access(orgWide, byWorkspace);
  }
}

function getOrCreate<K, V>(map: Map<K, Set<V>>, key: K): Set<V> {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  return set;
}

const PERMISSIONS = new Set<string>(ALL_PERMISSIONS);
function isPermission(value: string): value is Permission {
  return PERMISSIONS.has(value);
}
