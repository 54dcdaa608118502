// Every root field of the schema has exactly one graphql-shield rule, and every rule guards a
// field that exists: deny by default must never be the only thing between a caller and a field.
import { describe, expect, it } from "vitest";
import { rootRules } from "../../src/auth/permission-map.js";
import { buildBareSchema } from "../../src/graphql/schema.js";

const ROOTS = ["Query", "Mutation", "Subscription"] as const;
// Rules whose answer depends only on the principal, so caching them for the request is safe.
const PRINCIPAL_ONLY = /^(authenticated|can-[A-Z_]+|org-[A-Z_]+)$/;

describe("permission map", () => {
  const schema = buildBareSchema();
  const rules = rootRules();

  for (const root of ROOTS) {
    it(`covers every ${root} field and names no other`, () => {
      const type = root === "Query" ? schema.getQueryType() : root === "Mutation" ? schema.getMutationType() : schema.getSubscriptionType();
      const fields = Object.keys(type?.getFields() ?? {}).sort();
      expect(Object.keys(rules[root]).sort()).toEqual(fields);
      for (const field of fields) expect(rules[root][field], `${root}.${field}`).toBeTruthy();
    });
  }

  it("caches a rule for the request only when it depends on the principal alone", () => {
    for (const root of ROOTS) {
      for (const [field, rule] of Object.entries(rules[root])) {
        const r = rule as { name?: string; cache?: string };
        if (r.name && PRINCIPAL_ONLY.test(r.name)) continue;
        expect(r.cache ?? "no_cache", `${root}.${field} (${r.name}) may depend on its arguments`).toBe("no_cache");
      }
    }
  });
});
