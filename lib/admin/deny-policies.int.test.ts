// Deny policies over HTTP against a real PostgreSQL and the live engine: IAM v2's shapes and
// names (%2F-escaped attachment points), etags, every validation error a 400 with nothing written,
// a missing policy refused like a hidden one, and every way of lifting a denial from oneself —
// an exception naming oneself directly, by group, by domain or as a v2 principal; removing the
// rule, oneself or the permission; an exception permission; a changed condition; deleting the
// policy — refused and changing nothing, each next to a positive control.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectError, startAdminTestStack, type AdminTestStack, type ApiAnswer } from "@/lib/test/admin-stack";

const ORG = "organizations/1";
const FOLDER = "folders/55";
const P1 = "projects/proj1";
const P2 = "projects/proj2";
const point = (node: string) => encodeURIComponent(`cloudresourcemanager.googleapis.com/${node}`);
const base = (node: string) => `/api/v1/policies/${point(node)}/denypolicies`;
const nameOf = (node: string, id: string) => `policies/${point(node)}/denypolicies/${id}`;

const USERS = ["owner", "dadmin", "bob", "alice"];
const GUARD_RULES = [
  { denyRule: { deniedPrincipals: ["user:dadmin@acme.test", "user:bob@acme.test"], deniedPermissions: ["run.services.update"] } },
  { description: "No compute for the team", denyRule: { deniedPrincipals: ["group:team@acme.test"], deniedPermissions: ["compute.instances.*"], exceptionPermissions: ["compute.instances.list"] } },
  {
    denyRule: {
      deniedPrincipals: ["domain:acme.test"],
      exceptionPrincipals: ["user:owner@acme.test"],
      deniedPermissions: ["iap.webServiceVersions.accessViaIAP"],
      denialCondition: { title: "Admin paths", expression: "request.path.startsWith('/admin')" },
    },
  },
];
const WORLD = {
  organizations: [{ id: "1", domain: "acme.test" }],
  folders: [{ id: "55", parent: ORG }],
  projects: [
    { id: "proj1", number: "4242", parent: FOLDER },
    { id: "proj2", number: "4243", parent: ORG },
  ],
  users: USERS.map((u) => ({ email: `${u}@acme.test` })),
  groups: [
    { email: "team@acme.test", members: ["user:dadmin@acme.test"] },
    { email: "exempt@acme.test", members: ["user:dadmin@acme.test"] },
  ],
  policies: [
    { resource: ORG, bindings: [{ role: "roles/owner", members: ["user:owner@acme.test"] }, { role: "roles/iam.denyAdmin", members: ["user:dadmin@acme.test"] }] },
    { resource: P2, bindings: [{ role: "roles/viewer", members: ["user:alice@acme.test"] }] },
  ],
  denyPolicies: [{ attachedTo: P1, name: "guard", displayName: "Guard", rules: GUARD_RULES.map((r) => ({ ...(r.description ? { description: r.description } : {}), ...r.denyRule })) }],
};

let k: AdminTestStack;
beforeAll(async () => {
  k = await startAdminTestStack(WORLD, USERS);
});
afterAll(async () => {
  await k?.close();
});

const rows = () => k.t.prisma.denyPolicy.findMany({ orderBy: { name: "asc" }, include: { rules: { orderBy: { position: "asc" }, omit: { id: true } } }, omit: { createdAt: true, updatedAt: true } });
const refused = (fn: () => Promise<ApiAnswer>, status: number, code: string, says?: string | RegExp) => k.refused(rows, fn, status, code, says);
const oneRecord = (fn: () => Promise<ApiAnswer>, status: number) => k.oneRecord(fn, status);

type Rule = { description?: string; denyRule: { deniedPrincipals: string[]; exceptionPrincipals?: string[]; deniedPermissions: string[]; exceptionPermissions?: string[]; denialCondition?: { title?: string; expression: string } } };
const guard = async () => (await k.api("owner", "GET", `${base(P1)}/guard`)).body as { etag: string; rules: Rule[]; displayName: string };
/** `who` replaces guard's rules with `edit(rules)` (with the current etag). */
async function editGuard(who: string, edit: (rules: Rule[]) => Rule[]) {
  const g = await guard();
  return k.api(who, "PATCH", `${base(P1)}/guard`, { displayName: g.displayName, etag: g.etag, rules: edit(structuredClone(g.rules)) });
}
const lifts = /lift a denial from you/;

describe("deny policies: create, get, list, update, delete", () => {
  it("creates a policy in IAM v2's shape; one record; the engine enforces it", async () => {
    expect(k.holds("user:alice@acme.test", "run.services.get", P2)).toBe(true);
    const rules = [{ description: "Alice reads nothing", denyRule: { deniedPrincipals: ["principal://goog/subject/alice@acme.test"], deniedPermissions: ["run.googleapis.com/services.get"] } }];
    const { r, audit } = await oneRecord(() => k.api("dadmin", "POST", `${base(P2)}?policyId=no-alice`, { displayName: "No Alice", rules }), 201);
    expect(r.body).toEqual({
      name: nameOf(P2, "no-alice"),
      kind: "DenyPolicy",
      displayName: "No Alice",
      etag: expect.stringMatching(/^[A-Za-z0-9+/]+=*$/),
      createTime: expect.any(String),
      updateTime: expect.any(String),
      rules: [{ description: "Alice reads nothing", denyRule: { deniedPrincipals: ["principal://goog/subject/alice@acme.test"], exceptionPrincipals: [], deniedPermissions: ["run.googleapis.com/services.get"], exceptionPermissions: [] } }],
    });
    expect(audit).toMatchObject({ methodName: "CreateDenyPolicy", serviceName: "iam.googleapis.com", resourceName: nameOf(P2, "no-alice"), actor: "dadmin@acme.test", request: { policyId: "no-alice" }, response: { after: { displayName: "No Alice" } } });
    expect(k.holds("user:alice@acme.test", "run.services.get", P2)).toBe(false);
    expect((await k.api("dadmin", "GET", `${base(P2)}/no-alice`)).body).toEqual(r.body);
  });

  it("lists a node's policies, paged", async () => {
    expect((await k.api("dadmin", "POST", `${base(P2)}?policyId=another`, { rules: [{ denyRule: { deniedPrincipals: ["user:bob@acme.test"], deniedPermissions: ["run.services.get"] } }] })).status).toBe(201);
    const first = await k.api("dadmin", "GET", `${base(P2)}?pageSize=1`);
    expect((first.body.policies as { name: string }[]).map((p) => p.name)).toEqual([nameOf(P2, "another")]);
    const second = await k.api("dadmin", "GET", `${base(P2)}?pageSize=1&pageToken=${first.body.nextPageToken as string}`);
    expect((second.body.policies as { name: string }[]).map((p) => p.name)).toEqual([nameOf(P2, "no-alice")]);
    expect(second.body.nextPageToken).toBeUndefined();
    expect((await k.api("dadmin", "GET", base(FOLDER))).body).toEqual({ policies: [] });
  });

  it("updates with the etag (a stale one is ABORTED, nothing changes); one record with before and after", async () => {
    const current = (await k.api("dadmin", "GET", `${base(P2)}/another`)).body as { etag: string; rules: Rule[] };
    const rules = [{ denyRule: { deniedPrincipals: ["user:bob@acme.test"], deniedPermissions: ["run.services.get", "run.services.list"] } }];
    const { r, audit } = await oneRecord(() => k.api("dadmin", "PATCH", `${base(P2)}/another`, { displayName: "Another", etag: current.etag, rules }), 200);
    expect(r.body).toMatchObject({ displayName: "Another", rules: [{ denyRule: { deniedPermissions: ["run.services.get", "run.services.list"] } }] });
    expect(r.body.etag).not.toBe(current.etag);
    expect(audit).toMatchObject({ methodName: "UpdateDenyPolicy", response: { before: { displayName: "" }, after: { displayName: "Another" } } });
    await refused(() => k.api("dadmin", "PATCH", `${base(P2)}/another`, { etag: current.etag, rules }), 409, "ABORTED");
    await refused(() => k.api("dadmin", "DELETE", `${base(P2)}/another?etag=${encodeURIComponent(current.etag)}`), 409, "ABORTED");
  });

  it("deletes; one record; the denial is gone", async () => {
    const { audit } = await oneRecord(() => k.api("dadmin", "DELETE", `${base(P2)}/no-alice`), 200);
    expect(audit).toMatchObject({ methodName: "DeleteDenyPolicy", resourceName: nameOf(P2, "no-alice"), response: { before: { displayName: "No Alice" } } });
    expect(k.holds("user:alice@acme.test", "run.services.get", P2)).toBe(true);
    await refused(() => k.api("dadmin", "DELETE", `${base(P2)}/no-alice`), 404, "NOT_FOUND");
  });
});

describe("validation: every error is a 400 naming the field, and nothing is written", () => {
  it("refuses bad policies, names and attachment points", async () => {
    const rule = (r: object) => ({ rules: [{ denyRule: { deniedPrincipals: ["user:bob@acme.test"], deniedPermissions: ["run.services.get"], ...r } }] });
    for (const [body, field] of [
      [rule({ deniedPrincipals: ["nobody"] }), "rules[0].denyRule.deniedPrincipals[0]"],
      [rule({ deniedPrincipals: ["principal://goog/unknown/x"] }), "rules[0].denyRule.deniedPrincipals[0]"],
      [rule({ exceptionPrincipals: ["user:\u0430lice@acme.test"] }), "rules[0].denyRule.exceptionPrincipals[0]"],
      [rule({ deniedPermissions: ["foo.bar.baz"] }), "rules[0].denyRule.deniedPermissions[0]"],
      [rule({ exceptionPermissions: ["nothing.*"] }), "rules[0].denyRule.exceptionPermissions[0]"],
      [rule({ denialCondition: { expression: "request.path.startsWith(" } }), "rules[0].denyRule.denialCondition.expression"],
      [rule({ denialCondition: { expression: "true", description: "x" } }), "denialCondition"],
      [rule({ deniedPrincipals: [] }), "rules.0.denyRule.deniedPrincipals"],
      [rule({ deniedPermissions: [] }), "rules.0.denyRule.deniedPermissions"],
      [{ rules: [] }, "rules"],
      [{ rules: [{ deniedPrincipals: ["user:bob@acme.test"], deniedPermissions: ["run.services.get"] }] }, "rules.0"],
    ] as const) {
      const r = await refused(() => k.api("dadmin", "POST", `${base(P2)}?policyId=bad`, body), 400, "INVALID_ARGUMENT");
      expect(JSON.stringify(r.body.error), JSON.stringify(body)).toContain(field);
    }
    const ok = rule({});
    await refused(() => k.api("dadmin", "POST", `${base(P2)}?policyId=Bad_Id`, ok), 400, "INVALID_ARGUMENT", /policyId/);
    await refused(() => k.api("dadmin", "POST", base(P2), ok), 400, "INVALID_ARGUMENT", /policyId/);
    await refused(() => k.api("dadmin", "POST", `/api/v1/policies/${encodeURIComponent("projects/proj2")}/denypolicies?policyId=x`, ok), 400, "INVALID_ARGUMENT", /attach/);
    await refused(() => k.api("dadmin", "POST", `/api/v1/policies/${point("projects/proj2/iap_web")}/denypolicies?policyId=x`, ok), 400, "INVALID_ARGUMENT", /attach/);
    await refused(() => k.api("dadmin", "POST", `${base(P2)}?policyId=another`, ok), 409, "ALREADY_EXISTS");
    await refused(() => k.api("dadmin", "PATCH", `${base(P2)}/another`, { ...ok, name: nameOf(P1, "another") }), 400, "INVALID_ARGUMENT", /renamed/);
    // Google's path with unescaped slashes is not a deny policy's name.
    expect((await k.api("dadmin", "GET", "/api/v1/policies/cloudresourcemanager.googleapis.com/projects/proj2/denypolicies")).status).toBe(404);
  });
});

describe("a missing deny policy is refused exactly like a hidden one", () => {
  it("answers 403 with the same words to a caller without the permission, 404 to one with it", async () => {
    const hidden = await k.api("bob", "GET", `${base(P1)}/guard`);
    expectError(hidden, 403, "PERMISSION_DENIED");
    expect(await k.api("bob", "GET", `${base(P1)}/nosuch`)).toMatchObject({ status: 403, body: hidden.body });
    expectError(await k.api("bob", "GET", `${base("projects/nosuch")}/guard`), 403, "PERMISSION_DENIED");
    expectError(await k.api("dadmin", "GET", `${base("projects/nosuch")}/guard`), 403, "PERMISSION_DENIED");
    expectError(await k.api("dadmin", "GET", `${base(P1)}/nosuch`), 404, "NOT_FOUND");
    const body = { rules: [{ denyRule: { deniedPrincipals: ["user:alice@acme.test"], deniedPermissions: ["run.services.get"] } }] };
    for (const [method, p, b] of [
      ["GET", base(P1), undefined],
      ["POST", `${base(P1)}?policyId=mine`, body],
      ["PATCH", `${base(P1)}/guard`, body],
      ["DELETE", `${base(P1)}/guard`, undefined],
    ] as const) {
      await refused(() => k.api("bob", method, p, b), 403, "PERMISSION_DENIED");
      await refused(() => k.api("alice", method, p.replace("guard", "nosuch"), b), 403, "PERMISSION_DENIED");
    }
  });
});

describe("lifting a denial from oneself is refused and changes nothing", () => {
  it("an exception naming oneself — directly, by group, by domain, as a v2 principal — is refused; excepting someone else is allowed", async () => {
    for (const who of ["user:dadmin@acme.test", "group:exempt@acme.test", "domain:acme.test", "principal://goog/subject/dadmin@acme.test", "principalSet://goog/group/team@acme.test"]) {
      await refused(
        () => editGuard("dadmin", (rules) => ((rules[0]!.denyRule.exceptionPrincipals = [who]), rules)),
        403,
        "PERMISSION_DENIED",
        /lift a denial from you: run\.services\.update on projects\/proj1/,
      );
    }
    // The team rule applies to dadmin through its group: excepting the group is excepting oneself.
    await refused(() => editGuard("dadmin", (rules) => ((rules[1]!.denyRule.exceptionPrincipals = ["group:team@acme.test"]), rules)), 403, "PERMISSION_DENIED", lifts);
    // Control: excepting someone else from a rule that also denies oneself.
    const r = await editGuard("dadmin", (rules) => ((rules[2]!.denyRule.exceptionPrincipals = ["user:owner@acme.test", "user:bob@acme.test"]), rules));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  });

  it("removing oneself, the rule, a denied permission, or adding an exception permission is refused; removing someone else is allowed", async () => {
    await refused(() => editGuard("dadmin", (rules) => ((rules[0]!.denyRule.deniedPrincipals = ["user:bob@acme.test"]), rules)), 403, "PERMISSION_DENIED", lifts);
    await refused(() => editGuard("dadmin", (rules) => rules.filter((_, i) => i !== 1)), 403, "PERMISSION_DENIED", /compute\.instances\./);
    await refused(() => editGuard("dadmin", (rules) => ((rules[1]!.denyRule.deniedPermissions = ["compute.instances.get"]), rules)), 403, "PERMISSION_DENIED", lifts);
    await refused(() => editGuard("dadmin", (rules) => ((rules[1]!.denyRule.exceptionPermissions = ["compute.instances.list", "compute.instances.delete"]), rules)), 403, "PERMISSION_DENIED", /compute\.instances\.delete/);
    await refused(() => editGuard("dadmin", (rules) => ((rules[0]!.denyRule.deniedPermissions = ["run.services.get"]), rules)), 403, "PERMISSION_DENIED", /run\.services\.update/);
    // Control: bob out of the first rule (dadmin stays in it).
    const r = await editGuard("dadmin", (rules) => ((rules[0]!.denyRule.deniedPrincipals = ["user:dadmin@acme.test"]), rules));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    // Control: a denial on oneself may always be added.
    expect((await k.api("dadmin", "POST", `${base(P2)}?policyId=self-restraint`, { rules: [{ denyRule: { deniedPrincipals: ["user:dadmin@acme.test"], deniedPermissions: ["compute.*"] } }] })).status).toBe(201);
  });

  it("changing the condition of a denial on oneself is refused; making it unconditional is allowed", async () => {
    await refused(
      () => editGuard("dadmin", (rules) => ((rules[2]!.denyRule.denialCondition = { title: "Admin paths", expression: "request.path.startsWith('/nothing')" }), rules)),
      403,
      "PERMISSION_DENIED",
      /when request\.path\.startsWith\('\/admin'\)/,
    );
    const r = await editGuard("dadmin", (rules) => (delete rules[2]!.denyRule.denialCondition, rules));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  });

  it("deleting the policy that denies oneself is refused; moving the denial to an ancestor first is allowed; someone it does not deny may delete it", async () => {
    await refused(() => k.api("dadmin", "DELETE", `${base(P1)}/guard`), 403, "PERMISSION_DENIED", lifts);
    // The folder above the project denies the first rule's permission too: the project's copy may go.
    expect((await k.api("dadmin", "POST", `${base(FOLDER)}?policyId=folder-wide`, { rules: [{ denyRule: { deniedPrincipals: ["user:dadmin@acme.test"], deniedPermissions: ["run.services.*"] } }] })).status).toBe(201);
    const r = await editGuard("dadmin", (rules) => rules.filter((_, i) => i !== 0));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    await refused(() => k.api("dadmin", "DELETE", `${base(FOLDER)}/folder-wide`), 403, "PERMISSION_DENIED", lifts);
    // The owner is excepted from every rule: deleting lifts nothing from it.
    expect((await k.api("owner", "DELETE", `${base(P1)}/guard`)).status).toBe(200);
    expect((await k.api("owner", "DELETE", `${base(FOLDER)}/folder-wide`)).status).toBe(200);
  });
});
