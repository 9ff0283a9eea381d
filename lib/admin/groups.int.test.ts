// Groups and memberships over HTTP against a real PostgreSQL and the live engine: every method's
// happy path with its one audit record, validation refused with nothing written, missing groups
// refused exactly like hidden ones, and escalation through membership (joining or nesting into a
// group that holds more, lifting a denial by joining or leaving a group) refused and changing
// nothing, each next to a positive control.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectError, startAdminTestStack, type AdminTestStack, type ApiAnswer } from "@/lib/test/admin-stack";

const ORG = "organizations/1";
const PROJECT = "projects/p1";
const APP = "projects/p1/iap_web/compute/services/app";
const ACCESSOR = "roles/iap.httpsResourceAccessor";
const PASSAGE = "iap.webServiceVersions.accessViaIAP";
const GROUP_ADMIN = "organizations/1/roles/groupAdmin";

const USERS = ["owner", "gadmin", "viewer", "bob", "alice", "carol", "owner2"];
const WORLD = {
  organizations: [
    { id: "1", domain: "acme.test" },
    { id: "2", domain: "other.test" },
  ],
  projects: [{ id: "p1", number: "4242", parent: ORG }],
  resources: [{ name: APP, iap: true, hosts: ["app.acme.test"] }],
  users: USERS.map((u) => ({ email: `${u}@acme.test` })),
  groups: [
    { email: "eng@acme.test", members: ["user:alice@acme.test"] },
    { email: "iap-users@acme.test", members: [] },
    { email: "power@acme.test", members: ["group:inner@acme.test"] },
    { email: "inner@acme.test", members: [] },
    { email: "mine@acme.test", members: ["user:gadmin@acme.test"] },
    { email: "exempt@acme.test", members: [] },
    { email: "blocked@acme.test", members: ["user:gadmin@acme.test"] },
    { email: "o2admins@other.test", members: ["user:owner2@acme.test"] },
    { email: "partners@other.test", members: [] },
  ],
  customRoles: [
    {
      name: GROUP_ADMIN,
      title: "Group admin",
      permissions: ["cloudidentity.groups.get", "cloudidentity.groups.list", "cloudidentity.groups.create", "cloudidentity.groups.update", "cloudidentity.groups.delete"],
    },
  ],
  policies: [
    {
      resource: ORG,
      bindings: [
        { role: "roles/owner", members: ["user:owner@acme.test", "group:power@acme.test"] },
        { role: GROUP_ADMIN, members: ["user:gadmin@acme.test"] },
        { role: "roles/viewer", members: ["user:viewer@acme.test"] },
      ],
    },
    { resource: "organizations/2", bindings: [{ role: "roles/owner", members: ["group:o2admins@other.test"] }] },
    { resource: PROJECT, bindings: [{ role: "roles/iap.admin", members: ["user:gadmin@acme.test"] }] },
    { resource: APP, bindings: [{ role: ACCESSOR, members: ["group:iap-users@acme.test"] }] },
  ],
  denyPolicies: [
    {
      attachedTo: PROJECT,
      name: "block",
      rules: [
        { deniedPrincipals: ["group:blocked@acme.test"], deniedPermissions: ["run.services.get"] },
        { deniedPrincipals: ["user:gadmin@acme.test"], exceptionPrincipals: ["group:exempt@acme.test"], deniedPermissions: ["compute.instances.get"] },
      ],
    },
  ],
};

let k: AdminTestStack;
beforeAll(async () => {
  k = await startAdminTestStack(WORLD, USERS);
});
afterAll(async () => {
  await k?.close();
});

const rows = async () => [
  await k.t.prisma.group.findMany({ orderBy: { email: "asc" } }),
  await k.t.prisma.groupMember.findMany({ orderBy: [{ groupEmail: "asc" }, { member: "asc" }], select: { groupEmail: true, member: true } }),
  await k.t.prisma.bindingMember.findMany({ orderBy: [{ bindingId: "asc" }, { member: "asc" }] }),
];
const members = async (g: string) => (await k.t.prisma.groupMember.findMany({ where: { groupEmail: g }, orderBy: { member: "asc" } })).map((r) => r.member);
const add = (who: string, group: string, member: string) => k.api(who, "POST", `/api/v1/groups/${group}/members`, { member });

const refused = (fn: () => Promise<ApiAnswer>, status: number, code: string, says?: string | RegExp) => k.refused(rows, fn, status, code, says);

const oneRecord = (fn: () => Promise<ApiAnswer>, status: number) => k.oneRecord(fn, status);

describe("groups: create, get, list, update", () => {
  it("creates a group with members; one CreateGroup record with the member deltas", async () => {
    const { r, audit } = await oneRecord(
      () => k.api("owner", "POST", "/api/v1/groups", { email: "Team@ACME.test", displayName: "Team", description: "The team", members: ["user:Carol@acme.test", "user:carol@acme.test"] }),
      201,
    );
    expect(r.body).toMatchObject({ name: "groups/team@acme.test", groupKey: { id: "team@acme.test" }, email: "team@acme.test", displayName: "Team", description: "The team" });
    expect(r.headers.get("x-gatehouse-revision")).toMatch(/^\d+$/);
    expect(audit).toMatchObject({
      methodName: "CreateGroup",
      serviceName: "cloudidentity.googleapis.com",
      resourceName: "groups/team@acme.test",
      actor: "owner@acme.test",
      response: { memberDeltas: [{ action: "ADD", member: "user:carol@acme.test" }] },
    });
    expect(await members("team@acme.test")).toEqual(["user:carol@acme.test"]);
    // Cloud Identity's groupKey works as well as email.
    expect((await k.api("owner", "POST", "/api/v1/groups", { groupKey: { id: "keyed@acme.test" } })).status).toBe(201);
  });

  it("gets and updates a group; an update records before and after, a no-op records nothing", async () => {
    expect((await k.api("viewer", "GET", "/api/v1/groups/TEAM@acme.test")).body).toMatchObject({ email: "team@acme.test", displayName: "Team" });
    const { r, audit } = await oneRecord(() => k.api("gadmin", "PATCH", "/api/v1/groups/team@acme.test", { displayName: "The Team" }), 200);
    expect(r.body).toMatchObject({ displayName: "The Team", description: "The team" });
    expect(audit).toMatchObject({ methodName: "UpdateGroup", request: { displayName: "The Team" }, response: { before: { displayName: "Team" }, after: { displayName: "The Team" } } });
    await k.changesNothing(async () => expect((await k.api("gadmin", "PATCH", "/api/v1/groups/team@acme.test", { displayName: "The Team" })).status).toBe(200));
  });

  it("lists only the groups of organizations where the caller may list them, paged and filtered", async () => {
    const names = (r: Awaited<ReturnType<AdminTestStack["api"]>>) => (r.body.groups as { email: string }[]).map((g) => g.email);
    const all = await k.api("gadmin", "GET", "/api/v1/groups?pageSize=1000");
    expect(names(all)).toContain("eng@acme.test");
    expect(names(all).some((e) => e.endsWith("@other.test"))).toBe(false);
    expect(names(await k.api("owner2", "GET", "/api/v1/groups"))).toEqual(["o2admins@other.test", "partners@other.test"]);
    const first = await k.api("gadmin", "GET", "/api/v1/groups?pageSize=1&filter=IN");
    expect(names(first)).toEqual(["inner@acme.test"]);
    const second = await k.api("gadmin", "GET", `/api/v1/groups?pageSize=1&filter=IN&pageToken=${first.body.nextPageToken as string}`);
    expect(names(second)).toEqual(["mine@acme.test"]);
    expect(second.body.nextPageToken).toBeUndefined();
    expectError(await k.api("bob", "GET", "/api/v1/groups"), 403, "PERMISSION_DENIED");
    expectError(await k.api("gadmin", "GET", "/api/v1/groups?pageToken=nope"), 400, "INVALID_ARGUMENT");
    expectError(await k.api(null, "GET", "/api/v1/groups"), 401, "UNAUTHENTICATED");
  });

  it("refuses invalid input with a code and the field, writing nothing", async () => {
    for (const [body, field] of [
      [{ email: "not-an-email" }, "email"],
      [{ email: "\u0430lice@acme.test" }, "email"],
      [{}, "email"],
      [{ email: "x@acme.test", groupKey: { id: "y@acme.test" } }, "groupKey.id"],
      [{ email: "x@acme.test", extra: 1 }, ""],
      [{ email: "x@acme.test", members: ["domain:acme.test"] }, "members.0"],
      [{ email: "x@acme.test", members: ["allUsers"] }, "members.0"],
      [{ email: "x@acme.test", members: ["bogus"] }, "members.0"],
      [{ email: "x@acme.test", members: ["group:nosuch@acme.test"] }, "members"],
      [{ email: "x@acme.test", displayName: "x".repeat(101) }, "displayName"],
    ] as const) {
      const r = await refused(() => k.api("owner", "POST", "/api/v1/groups", body), 400, "INVALID_ARGUMENT");
      expect(JSON.stringify(r.body.error), JSON.stringify(body)).toContain(field);
    }
    await refused(() => k.api("owner", "POST", "/api/v1/groups", { email: "eng@acme.test" }), 409, "ALREADY_EXISTS");
    await refused(() => k.api("owner", "POST", "/api/v1/groups", { email: "bob@acme.test" }), 409, "ALREADY_EXISTS", /user or service account/);
    await refused(() => k.api("owner", "PATCH", "/api/v1/groups/eng@acme.test", { email: "new@acme.test" }), 400, "INVALID_ARGUMENT");
    await refused(() => k.api("owner", "GET", "/api/v1/groups/not-an-email"), 400, "INVALID_ARGUMENT");
    expect((await k.api("owner", "PUT", "/api/v1/groups/eng@acme.test", {})).status).toBe(405);
  });
});

describe("memberships", () => {
  it("adds members by member string and by preferredMemberKey, lists them, removes by string or email; one record each", async () => {
    const { r, audit } = await oneRecord(() => k.api("gadmin", "POST", "/api/v1/groups/team@acme.test/members", { preferredMemberKey: { id: "Bob@acme.test" }, roles: [{ name: "MEMBER" }] }), 201);
    expect(r.body).toMatchObject({ name: "groups/team@acme.test/memberships/user:bob@acme.test", member: "user:bob@acme.test", preferredMemberKey: { id: "bob@acme.test" }, type: "USER", roles: [{ name: "MEMBER" }] });
    expect(audit).toMatchObject({ methodName: "CreateMembership", resourceName: "groups/team@acme.test", request: { member: "user:bob@acme.test" }, response: { memberDeltas: [{ action: "ADD", member: "user:bob@acme.test" }] } });
    expect((await oneRecord(() => add("gadmin", "team@acme.test", "deleted:user:old@acme.test?uid=123"), 201)).r.body).toMatchObject({ type: "OTHER_TYPE" });
    expect((await oneRecord(() => k.api("gadmin", "POST", "/api/v1/groups/team@acme.test/members", { preferredMemberKey: { id: "eng@acme.test" } }), 201)).r.body).toMatchObject({ member: "group:eng@acme.test", type: "GROUP" });

    const list = await k.api("viewer", "GET", "/api/v1/groups/team@acme.test/members?pageSize=2");
    expect((list.body.memberships as { member: string }[]).map((m) => m.member)).toEqual(["deleted:user:old@acme.test?uid=123", "group:eng@acme.test"]);
    const rest = await k.api("viewer", "GET", `/api/v1/groups/team@acme.test/members?pageSize=2&pageToken=${list.body.nextPageToken as string}`);
    expect((rest.body.memberships as { member: string }[]).map((m) => m.member)).toEqual(["user:bob@acme.test", "user:carol@acme.test"]);
    expect(rest.body.nextPageToken).toBeUndefined();

    const removed = await oneRecord(() => k.api("gadmin", "DELETE", "/api/v1/groups/team@acme.test/members/Bob@acme.test"), 200);
    expect(removed.audit).toMatchObject({ methodName: "DeleteMembership", response: { memberDeltas: [{ action: "REMOVE", member: "user:bob@acme.test" }] } });
    await oneRecord(() => k.api("gadmin", "DELETE", `/api/v1/groups/team@acme.test/members/${encodeURIComponent("deleted:user:old@acme.test?uid=123")}`), 200);
    expect(await members("team@acme.test")).toEqual(["group:eng@acme.test", "user:carol@acme.test"]);
  });

  it("lists effective members through nesting, with their relation", async () => {
    await add("gadmin", "team@acme.test", "user:alice@acme.test");
    const r = await k.api("viewer", "GET", "/api/v1/groups/team@acme.test/effectiveMembers");
    expect(r.body.members).toEqual([
      { member: "group:eng@acme.test", preferredMemberKey: { id: "eng@acme.test" }, type: "GROUP", relationType: "DIRECT" },
      { member: "user:alice@acme.test", preferredMemberKey: { id: "alice@acme.test" }, type: "USER", relationType: "DIRECT_AND_INDIRECT" },
      { member: "user:carol@acme.test", preferredMemberKey: { id: "carol@acme.test" }, type: "USER", relationType: "DIRECT" },
    ]);
  });

  it("refuses bad members with a code, writing nothing", async () => {
    for (const body of [{}, { member: "user:bob@acme.test", preferredMemberKey: { id: "bob@acme.test" } }, { member: "domain:acme.test" }, { member: "allAuthenticatedUsers" }, { member: "user:bob@acme.test", roles: [{ name: "OWNER" }] }, { preferredMemberKey: { id: "ghost@acme.test" } }, { member: "group:nosuch@acme.test" }]) {
      await refused(() => k.api("gadmin", "POST", "/api/v1/groups/team@acme.test/members", body), 400, "INVALID_ARGUMENT");
    }
    await refused(() => add("gadmin", "team@acme.test", "user:carol@acme.test"), 409, "ALREADY_EXISTS");
    await refused(() => k.api("gadmin", "DELETE", "/api/v1/groups/team@acme.test/members/user:nobody@acme.test"), 404, "NOT_FOUND");
    await refused(() => k.api("gadmin", "DELETE", "/api/v1/groups/team@acme.test/members/not%20a%20member"), 400, "INVALID_ARGUMENT");
  });

  it("refuses a nesting cycle (400), itself included", async () => {
    expect((await add("owner", "eng@acme.test", "group:inner@acme.test")).status).toBe(201); // eng ⊃ inner
    await refused(() => add("owner", "inner@acme.test", "group:eng@acme.test"), 400, "INVALID_ARGUMENT", /cycle/);
    await refused(() => add("owner", "eng@acme.test", "group:eng@acme.test"), 400, "INVALID_ARGUMENT", /cycle/);
    await refused(() => k.api("owner", "POST", "/api/v1/groups", { email: "selfish@acme.test", members: ["group:selfish@acme.test"] }), 400, "INVALID_ARGUMENT", /cycle/);
    expect((await k.api("owner", "DELETE", "/api/v1/groups/eng@acme.test/members/group:inner@acme.test")).status).toBe(200);
  });
});

describe("a missing group is refused exactly like a hidden one", () => {
  it("answers 403 with the same words to a caller without the permission, 404 to one with it", async () => {
    const hidden = await k.api("bob", "GET", "/api/v1/groups/eng@acme.test");
    const missing = await k.api("bob", "GET", "/api/v1/groups/nosuch@acme.test");
    expectError(hidden, 403, "PERMISSION_DENIED");
    expectError(missing, 403, "PERMISSION_DENIED");
    expect(missing.body.error!.message).toBe(hidden.body.error!.message.replace("eng@", "nosuch@"));
    expectError(await k.api("gadmin", "GET", "/api/v1/groups/nosuch@acme.test"), 404, "NOT_FOUND");
    for (const [method, p, body] of [
      ["GET", "/api/v1/groups/X/members", undefined],
      ["GET", "/api/v1/groups/X/effectiveMembers", undefined],
      ["POST", "/api/v1/groups/X/members", { member: "user:bob@acme.test" }],
      ["DELETE", "/api/v1/groups/X/members/user:alice@acme.test", undefined],
      ["PATCH", "/api/v1/groups/X", { displayName: "x" }],
      ["DELETE", "/api/v1/groups/X", undefined],
    ] as const) {
      const a = await refused(() => k.api("bob", method, p.replace("X", "eng@acme.test"), body), 403, "PERMISSION_DENIED");
      const b = await refused(() => k.api("bob", method, p.replace("X", "nosuch@acme.test"), body), 403, "PERMISSION_DENIED");
      expect(b.body.error!.message, `${method} ${p}`).toBe(a.body.error!.message.replace("eng@", "nosuch@"));
    }
    // Groups of another organization's domain are that organization's.
    await refused(() => k.api("gadmin", "POST", "/api/v1/groups", { email: "x@other.test" }), 403, "PERMISSION_DENIED");
    await refused(() => add("gadmin", "partners@other.test", "user:bob@acme.test"), 403, "PERMISSION_DENIED");
    // Nesting a group one may not see is naming it: refused like a missing one.
    await refused(() => add("gadmin", "team@acme.test", "group:partners@other.test"), 403, "PERMISSION_DENIED", /groups\/partners@other\.test/);
    // Reading is not writing.
    await refused(() => add("viewer", "team@acme.test", "user:bob@acme.test"), 403, "PERMISSION_DENIED");
  });
});

describe("escalation through membership is refused and changes nothing", () => {
  it("joining a group that holds more than oneself: refused; the owner adding someone: allowed", async () => {
    await refused(() => add("gadmin", "power@acme.test", "user:gadmin@acme.test"), 403, "PERMISSION_DENIED", /roles\/owner on organizations\/1/);
    await refused(() => add("gadmin", "power@acme.test", "user:bob@acme.test"), 403, "PERMISSION_DENIED", /roles\/owner/);
    // Through a group nested in it: inner ⊂ power.
    await refused(() => add("gadmin", "inner@acme.test", "user:gadmin@acme.test"), 403, "PERMISSION_DENIED", /group:power@acme\.test, which contains group:inner@acme\.test/);
    await refused(() => k.api("gadmin", "POST", "/api/v1/groups/power@acme.test/members", { preferredMemberKey: { id: "gadmin@acme.test" } }), 403, "PERMISSION_DENIED");
    // Control: the owner holds what the group holds.
    expect((await add("owner", "power@acme.test", "user:bob@acme.test")).status).toBe(201);
    expect(k.holds("user:bob@acme.test", "resourcemanager.organizations.setIamPolicy", ORG)).toBe(true);
    expect((await k.api("owner", "DELETE", "/api/v1/groups/power@acme.test/members/user:bob@acme.test")).status).toBe(200);
    expect(k.holds("user:bob@acme.test", "resourcemanager.organizations.setIamPolicy", ORG)).toBe(false);
  });

  it("adding oneself to a group one administers that holds access one lacks: refused; adding someone else: allowed", async () => {
    // gadmin administers groups and IAP policy on the project, but holds no IAP access itself.
    await refused(() => add("gadmin", "iap-users@acme.test", "user:gadmin@acme.test"), 403, "PERMISSION_DENIED", /includes you/);
    expect(k.holds("user:bob@acme.test", PASSAGE, APP)).toBe(false);
    expect((await add("gadmin", "iap-users@acme.test", "user:bob@acme.test")).status).toBe(201);
    expect(k.holds("user:bob@acme.test", PASSAGE, APP)).toBe(true);
  });

  it("nesting a group into one that holds more: refused; nesting one without oneself into an access group: allowed", async () => {
    await refused(() => add("gadmin", "power@acme.test", "group:eng@acme.test"), 403, "PERMISSION_DENIED", /roles\/owner/);
    // mine ∋ gadmin: nesting it grants gadmin the access.
    await refused(() => add("gadmin", "iap-users@acme.test", "group:mine@acme.test"), 403, "PERMISSION_DENIED", /includes you/);
    expect((await add("gadmin", "iap-users@acme.test", "group:eng@acme.test")).status).toBe(201);
    expect(k.holds("user:alice@acme.test", PASSAGE, APP)).toBe(true);
    // …and then joining eng is joining iap-users.
    await refused(() => add("gadmin", "eng@acme.test", "user:gadmin@acme.test"), 403, "PERMISSION_DENIED", /iap-users/);
  });

  it("a group named in bindings before it exists is created with members under the same rule", async () => {
    const p = (await k.api("owner", "POST", `/api/v1/${PROJECT}:getIamPolicy`, { options: { requestedPolicyVersion: 3 } })).body as { etag: string; bindings: object[] };
    const set = await k.api("owner", "POST", `/api/v1/${PROJECT}:setIamPolicy`, { policy: { etag: p.etag, bindings: [...p.bindings, { role: "roles/owner", members: ["group:future@acme.test"] }] } });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    await refused(() => k.api("gadmin", "POST", "/api/v1/groups", { email: "future@acme.test", members: ["user:gadmin@acme.test"] }), 403, "PERMISSION_DENIED");
    await refused(() => k.api("gadmin", "POST", "/api/v1/groups", { email: "future@acme.test", members: ["user:bob@acme.test"] }), 403, "PERMISSION_DENIED");
    // Controls: the same group without members; a new group nobody is bound to, with oneself in it.
    expect((await k.api("gadmin", "POST", "/api/v1/groups", { email: "future@acme.test" })).status).toBe(201);
    await refused(() => add("gadmin", "future@acme.test", "user:gadmin@acme.test"), 403, "PERMISSION_DENIED");
    expect((await k.api("gadmin", "POST", "/api/v1/groups", { email: "newbie@acme.test", members: ["user:gadmin@acme.test"] })).status).toBe(201);
  });

  it("joining a group a deny rule excepts, or leaving or deleting a denied group, cannot lift a denial from oneself", async () => {
    await refused(() => add("gadmin", "exempt@acme.test", "user:gadmin@acme.test"), 403, "PERMISSION_DENIED", /lift a denial from you: compute\.instances\.get on projects\/p1/);
    await refused(() => add("gadmin", "exempt@acme.test", "group:mine@acme.test"), 403, "PERMISSION_DENIED", /lift a denial/);
    expect((await add("gadmin", "exempt@acme.test", "user:bob@acme.test")).status).toBe(201); // control: someone else
    await refused(() => k.api("gadmin", "DELETE", "/api/v1/groups/blocked@acme.test/members/user:gadmin@acme.test"), 403, "PERMISSION_DENIED", /run\.services\.get/);
    await refused(() => k.api("gadmin", "DELETE", "/api/v1/groups/blocked@acme.test"), 403, "PERMISSION_DENIED", /lift a denial/);
    expect((await k.api("owner", "DELETE", "/api/v1/groups/blocked@acme.test/members/user:gadmin@acme.test")).status).toBe(200); // control: someone else
  });

  it("no membership change leaves an organization with nobody able to set its policy", async () => {
    await refused(() => k.api("owner2", "DELETE", "/api/v1/groups/o2admins@other.test/members/user:owner2@acme.test"), 409, "FAILED_PRECONDITION");
    await refused(() => k.api("owner2", "DELETE", "/api/v1/groups/o2admins@other.test"), 409, "FAILED_PRECONDITION");
  });
});

describe("deleting a group", () => {
  it("rewrites the bindings and memberships naming it to deleted:group:…?uid=, so a new group with its email inherits nothing", async () => {
    const before = await k.auditCount();
    expect((await add("owner", "team@acme.test", "group:iap-users@acme.test")).status).toBe(201);
    const { audit } = await oneRecord(() => k.api("owner", "DELETE", "/api/v1/groups/iap-users@acme.test"), 200);
    expect(await k.auditCount()).toBe(before + 2);
    expect(audit).toMatchObject({
      methodName: "DeleteGroup",
      response: {
        memberDeltas: [
          { action: "REMOVE", member: "group:eng@acme.test" },
          { action: "REMOVE", member: "user:bob@acme.test" },
        ],
        removedFrom: ["groups/team@acme.test"],
        rewrittenBindings: [{ resource: APP, role: ACCESSOR }],
      },
    });
    const bound = (await k.t.prisma.bindingMember.findMany({ where: { binding: { policyResourceName: APP } } })).map((m) => m.member);
    expect(bound).toEqual([expect.stringMatching(/^deleted:group:iap-users@acme\.test\?uid=[\w-]+$/)]);
    expect((await members("team@acme.test")).some((m) => m.startsWith("deleted:group:iap-users@acme.test?uid="))).toBe(true);
    expect(k.holds("user:bob@acme.test", PASSAGE, APP)).toBe(false);
    // Recreated with the same email and a member: the old grant does not come back.
    expect((await k.api("owner", "POST", "/api/v1/groups", { email: "iap-users@acme.test", members: ["user:bob@acme.test"] })).status).toBe(201);
    expect(k.holds("user:bob@acme.test", PASSAGE, APP)).toBe(false);
    expectError(await k.api("owner", "DELETE", "/api/v1/groups/nosuch@acme.test"), 404, "NOT_FOUND");
  });
});
