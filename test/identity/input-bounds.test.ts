// Free text and ID lists are bounded: no control or formatting characters in names and
// descriptions, and no argument that names thousands of objects.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seed } from "../harness/factories.js";
import { startServer, type TestServer } from "../harness/server.js";

let t: TestServer;
beforeAll(async () => {
  t = await startServer();
});
afterAll(() => t.stop());

describe("input bounds", () => {
  it("refuses control and bidi characters in a role description, but keeps line breaks", async () => {
    const owner = t.client(t.ownerKey);
    const create = "mutation($d: String) { createRole(input: {name: \"r-\" , description: $d, permissions: [AUDIT_READ]}) { id description } }";
    for (const d of ["bell\u0007", "right-to-left \u202e override", "\u0085"]) {
      expect(await owner.errorCode(create.replace('"r-"', `"r-${Math.random()}"`), { d })).toBe("BAD_USER_INPUT");
    }
    const ok = await owner.data(create.replace('"r-"', '"multi-line"'), { d: "first line\nsecond line" });
    expect(ok.createRole.description).toBe("first line\nsecond line");
  });

  it("refuses an API key naming more than 50 roles or policies, before touching the database", async () => {
    const s = seed(t);
    const viewer = s.roleId("viewer");
    const ids = Array.from({ length: 51 }, (_, i) => (i === 0 ? viewer : `role_${String(i).padStart(22, "0")}`));
    const res = await t.client(t.ownerKey).query("mutation($ids: [ID!]!) { createApiKey(input: {name: \"many\", roleIds: $ids}) { secret } }", { ids });
    expect(res.body.errors?.[0].extensions.code).toBe("BAD_USER_INPUT");
    expect(res.body.errors?.[0].extensions.field).toBe("roleIds");
  });
});
