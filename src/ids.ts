// One ID generator: a type prefix and 22 base62 characters (about 131 random bits; 83 for the
// time-ordered kinds, whose first 8 characters are the time in milliseconds).
import { encodeBase62, randomBase62 } from "./crypto/random.js";

export const ID_PREFIXES = {
  Organization: "org",
  Workspace: "ws",
  User: "usr",
  Role: "role",
  RoleBinding: "rb",
  Policy: "pol",
  ApiKey: "ak",
  ApiKeySecret: "aks",
  VirtualKey: "vk",
  Route: "rt",
  AuditEvent: "evt",
  UsageRecord: "use",
  SsoRoleMapping: "ssm",
  Request: "req",
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

export const ID_RANDOM_LENGTH = 22;

/** Appended on every model call: their IDs start with the time, so each insert lands at the end of the ID index. */
const TIME_ORDERED: ReadonlySet<IdKind> = new Set(["AuditEvent", "UsageRecord"]);
const TIME_LENGTH = 8;

export function newId(kind: IdKind): string {
  if (!TIME_ORDERED.has(kind)) return `${ID_PREFIXES[kind]}_${randomBase62(ID_RANDOM_LENGTH)}`;
  return `${ID_PREFIXES[kind]}_${encodeBase62(Date.now(), TIME_LENGTH)}${randomBase62(ID_RANDOM_LENGTH - TIME_LENGTH)}`;
}

const ID_PATTERN = /^([a-z]{2,4})_([0-9A-Za-z]{22})$/;
const KIND_BY_PREFIX = new Map<string, IdKind>(Object.entries(ID_PREFIXES).map(([k, p]) => [p, k as IdKind]));

/** The kind an ID names, or undefined for anything that is not one of our IDs. */
export function idKind(id: string): IdKind | undefined {
  const match = ID_PATTERN.exec(id);
  return match ? KIND_BY_PREFIX.get(match[1]) : undefined;
}

export function isId(value: unknown, kind?: IdKind): value is string {
  if (typeof value !== "string") return false;
  const k = idKind(value);
  return k !== undefined && (kind === undefined || k === kind);
}
