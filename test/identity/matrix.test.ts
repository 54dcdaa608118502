// The permission matrix, generated from the permission map and the schema: every query and
// mutation, run as each built-in role held organization-wide and held only in another
// workspace. A role without the permission a field's rule needs always gets the shield's
// FORBIDDEN; a role with it never does (whatever the service then answers: data, NOT_FOUND
// for the made-up IDs below, or its own finer FORBIDDEN). A mutation aimed at a workspace
// the caller holds nothing in never succeeds. Subscriptions do not run over HTTP POST; their
// rule is covered by the permission-map test.
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  isUnionType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
} from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rootRules } from "../../src/auth/permission-map.js";
import { BUILT_IN_ROLES, type BuiltInRoleName, type Permission } from "../../src/auth/permission.js";
import { buildBareSchema } from "../../src/graphql/schema.js";
import { newId } from "../../src/ids.js";
import { seed } from "../harness/factories.js";
import { startServer, type TestServer } from "../harness/server.js";

const SHIELD_DENIAL = /^This needs [A-Z_]+( organization-wide)?$/;

type Requirement = { kind: "any" } | { kind: "somewhere" | "orgWide"; permission: Permission } | { kind: "unknown"; name: string };

function requirementOf(rule: unknown): Requirement {
  const name = (rule as { name?: string }).name ?? "";
  if (name === "authenticated") return { kind: "any" };
  let m = /^can-([A-Z_]+)$/.exec(name);
  if (m) return { kind: "somewhere", permission: m[1] as Permission };
  m = /^org-([A-Z_]+)$/.exec(name);
  if (m) return { kind: "orgWide", permission: m[1] as Permission };
  return { kind: "unknown", name };
}

/** A literal for an input type: made-up IDs, a target workspace wherever one can be named. */
function literal(type: GraphQLInputType, name: string, targetWorkspace: string, depth = 0): string {
  if (isNonNullType(type)) return literal(type.ofType, name, targetWorkspace, depth);
  if (isListType(type)) return `[${literal(type.ofType, name, targetWorkspace, depth)}]`;
  if (isEnumType(type)) return type.getValues()[0].name;
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields()).filter((f) => isNonNullType(f.type) || f.name === "workspaceId");
    return `{${fields.map((f) => `${f.name}: ${literal(f.type, f.name, targetWorkspace, depth + 1)}`).join(", ")}}`;
  }
  switch (type.name) {
    case "ID":
      return JSON.stringify(name === "workspaceId" ? targetWorkspace : newId("Workspace"));
    case "Int":
    case "SafeInt":
    case "Float":
      return "1";
    case "Boolean":
      return "false";
    case "DateTime":
      return JSON.stringify(new Date(Date.now() + 86_400_000).toISOString());
    case "JSON":
      return "{}";
    default:
      return JSON.stringify(name === "email" ? "matrix@example.com" : "matrix");
  }
}

function operation(root: "query" | "mutation", field: GraphQLField<unknown, unknown>, targetWorkspace: string): { doc: string; namesWorkspace: boolean } {
  const args = field.args.filter((a: GraphQLArgument) => isNonNullType(a.type) || a.name === "workspaceId");
  const rendered = args.map((a) => `${a.name}: ${literal(a.type, a.name, targetWorkspace)}`);
  const named = getNamedType(field.type);
  const selection = isObjectType(named) || isInterfaceType(named) || isUnionType(named) ? " { __typename }" : "";
  const doc = `${root} { ${field.name}${rendered.length ? `(${rendered.join(", ")})` : ""}${selection} }`;
  return { doc, namesWorkspace: doc.includes(targetWorkspace) };
}

let t: TestServer;
let targetWorkspace: string;
const callers: { role: BuiltInRoleName; scope: "organization" | "other workspace"; token: string }[] = [];

beforeAll(async () => {
  t = await startServer();
  const s = seed(t);
  targetWorkspace = s.workspace("matrix-target");
  const otherWorkspace = s.workspace("matrix-other");
  for (const role of Object.keys(BUILT_IN_ROLES) as BuiltInRoleName[]) {
    callers.push({ role, scope: "organization", token: s.apiKey(role).token });
    callers.push({ role, scope: "other workspace", token: s.apiKey(role, otherWorkspace).token });
  }
});
afterAll(() => t.stop());

describe("permission matrix", () => {
  const schema = buildBareSchema();
  const rules = rootRules();
  const cases = (["Query", "Mutation"] as const).flatMap((root) =>
    Object.values((root === "Query" ? schema.getQueryType() : schema.getMutationType())!.getFields()).map((field) => ({ root, field })),
  );

  it.each(cases.map((c) => [`${c.root}.${c.field.name}`, c] as const))("%s", async (_label, { root, field }) => {
    const requirement = requirementOf(rules[root][field.name]);
    const { doc, namesWorkspace } = operation(root === "Query" ? "query" : "mutation", field, targetWorkspace);
    for (const caller of callers) {
      const res = await t.client(caller.token).query(doc);
      const where = `${caller.role} (${caller.scope}): ${doc}\n${res.text}`;
      expect(res.status, where).toBe(200);
      const error = res.body.errors?.[0];
      expect(error?.extensions.code, where).not.toBe("INTERNAL_SERVER_ERROR");
      if (requirement.kind === "unknown") continue;
      const held = new Set<string>(BUILT_IN_ROLES[caller.role].permissions);
      const passes =
        requirement.kind === "any" ||
        (held.has(requirement.permission) && (requirement.kind === "somewhere" || caller.scope === "organization"));
      if (!passes) {
        expect(error?.extensions.code, where).toBe("FORBIDDEN");
        expect(error?.message, where).toMatch(SHIELD_DENIAL);
        expect(res.body.data?.[field.name] ?? null, where).toBeNull();
      } else {
        expect(error?.message ?? "", where).not.toMatch(SHIELD_DENIAL);
        if (root === "Mutation" && namesWorkspace && caller.scope === "other workspace") {
          expect(error, `a mutation in a workspace the caller holds nothing in succeeded: ${where}`).toBeDefined();
        }
      }
    }
  });
});
