// Database rows → policy-core input (load.ts), and the engine following changes to them: a
// principal disabled or re-enabled through a write is enforced by the live snapshot.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@/lib/test/db";
import { evaluate } from "@/lib/policy";
import { applyWorld } from "@/lib/world/apply";
import { parseWorld } from "@/lib/world/parse";
import { worldCatalog } from "@/lib/world/catalog";
import { readPolicies, readPolicyVersions } from "@/lib/db/policy-rows";
import { loadAll, toPolicy } from "./load";
import { PolicyEngine } from "./engine";

const APP = "projects/demo/iap_web/compute/services/app";
const opts = { actor: "test", catalog: worldCatalog() };
const world = (users: Array<{ email: string; disabled?: boolean }>) => ({
  organizations: [{ id: "1" }],
  projects: [{ id: "demo", parent: "organizations/1" }],
  resources: [{ name: APP, iap: true, hosts: ["app.example.test"] }],
  serviceAccounts: [{ email: "bot@demo.iam.gserviceaccount.com", disabled: true }],
  users,
  policies: [{ resource: APP, bindings: [{ role: "roles/iap.httpsResourceAccessor", members: ["allUsers", "user:alice@example.com"] }] }],
});
const apply = async (t: TestDatabase, w: object) => (await applyWorld(t.prisma, parseWorld(JSON.stringify(w)), opts)).revision;

describe("disabled principals from the database", () => {
  let t: TestDatabase;
  let engine: PolicyEngine;
  beforeAll(async () => {
    t = await createTestDatabase();
    await apply(t, world([{ email: "alice@example.com", disabled: true }, { email: "bob@example.com" }]));
    engine = new PolicyEngine(t.prisma, { databaseUrl: t.url, bootstrapAdmins: [], pollMs: 100 });
    await engine.start();
  });
  afterAll(async () => {
    await engine.stop();
    await t.drop();
  });

  const reason = (principal: string) => evaluate(engine.current().snapshot, { principal, resource: APP, request: { time: new Date() } }).reason;

  it("loadAll carries the flag", async () => {
    const { data } = await loadAll(t.prisma, []);
    expect(data.principals).toEqual(
      expect.arrayContaining([
        { member: "user:alice@example.com", disabled: true },
        { member: "user:bob@example.com" },
        { member: "serviceAccount:bot@demo.iam.gserviceaccount.com", disabled: true },
      ]),
    );
  });

  it("the engine denies disabled principals, and follows enabling and disabling", async () => {
    expect(reason("user:alice@example.com")).toBe("PRINCIPAL_DISABLED");
    expect(reason("serviceAccount:bot@demo.iam.gserviceaccount.com")).toBe("PRINCIPAL_DISABLED");
    expect(reason("user:bob@example.com")).toBe("GRANTED");
    const r1 = await apply(t, { users: [{ email: "alice@example.com" }, { email: "bob@example.com", disabled: true }] });
    expect(await engine.waitFor(r1!, 10_000)).toBe(true);
    expect(reason("user:alice@example.com")).toBe("GRANTED");
    expect(reason("user:BOB@example.com")).toBe("PRINCIPAL_DISABLED");
    const r2 = await apply(t, { users: [{ email: "alice@example.com" }, { email: "bob@example.com" }] });
    expect(await engine.waitFor(r2!, 10_000)).toBe(true);
    expect(reason("user:bob@example.com")).toBe("GRANTED");
  });
});

describe("a revision this process will adopt (expectAdopt)", () => {
  let t: TestDatabase;
  let engine: PolicyEngine;
  beforeAll(async () => {
    t = await createTestDatabase();
    await apply(t, world([{ email: "alice@example.com" }]));
    engine = new PolicyEngine(t.prisma, { databaseUrl: t.url, bootstrapAdmins: [], pollMs: 100 });
    await engine.start();
  });
  afterAll(async () => {
    await engine.stop();
    await t.drop();
  });

  const grantTo = (member: string) => ({ policies: [{ resource: APP, bindings: [{ role: "roles/iap.httpsResourceAccessor", members: [member] }] }] });
  const reason = (principal: string) => evaluate(engine.current().snapshot, { principal, resource: APP, request: { time: new Date() } }).reason;

  it("is not read back from the feed until adopted or cancelled; a later revision is", async () => {
    const from = engine.current().revision;
    engine.expectAdopt(from + 1n);
    const r1 = (await apply(t, grantTo("user:carol@example.com")))!;
    expect(r1).toBe(from + 1n);
    await engine.sync();
    expect(engine.current().revision).toBe(from);
    // The commit's outcome unknown (cancelAdopt): the feed brings it in.
    engine.cancelAdopt(r1);
    expect(await engine.waitFor(r1, 10_000)).toBe(true);
    expect(reason("user:carol@example.com")).toBe("GRANTED");

    engine.expectAdopt(r1 + 1n);
    await apply(t, grantTo("user:dave@example.com"));
    const r3 = (await apply(t, grantTo("user:erin@example.com")))!;
    expect(await engine.waitFor(r3, 10_000)).toBe(true);
    expect(reason("user:erin@example.com")).toBe("GRANTED");
    expect(reason("user:dave@example.com")).not.toBe("GRANTED");
  });

  it("a policy as its revision's PolicyVersion kept it is the policy its rows hold (what syncs read instead)", async () => {
    const conditional = { role: "roles/iap.httpsResourceAccessor", members: ["user:zed@example.com", "user:amy@example.com"], condition: { title: "Docs", description: "only docs", expression: "request.path.startsWith('/docs')" } };
    const r1 = (await apply(t, { policies: [{ resource: APP, bindings: [conditional, { role: "roles/viewer", members: ["user:amy@example.com"] }] }] }))!;
    const [rows] = await readPolicies(t.prisma, [APP]);
    expect((await readPolicyVersions(t.prisma, [{ resourceName: APP, revision: r1 }])).get(APP)).toEqual(rows);
    expect(rows!.version).toBe(3);
    const r2 = (await apply(t, grantTo("user:zed@example.com")))!;
    const [plain] = await readPolicies(t.prisma, [APP]);
    const versions = await readPolicyVersions(t.prisma, [{ resourceName: APP, revision: r2 }, { resourceName: "projects/demo", revision: r2 }]);
    expect(versions.get(APP)).toEqual(plain);
    expect(versions.has("projects/demo")).toBe(false);
    expect(await engine.waitFor(r2, 10_000)).toBe(true);
    expect(engine.current().snapshot.policies.get(APP)).toEqual(toPolicy(APP, plain!, []));
  });
});
