// Users, service accounts and service-account keys over HTTP against a real PostgreSQL and the
// live engine: happy paths with one admin-activity record per change; validation refusals that
// write nothing; unseen = missing; and the escalation attempts — acting as someone stronger
// (a key for a stronger service account, a password for a stronger user), governing another
// organization's users, touching instance owners — each changing nothing, with controls.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluate } from "@/lib/policy";
import { startAdminStack, type AdminStack } from "@/lib/test/admin-stack";

const ORG = "organizations/1";
const APP = "projects/p1/iap_web/compute/services/app";
const USER_ADMIN = "organizations/1/roles/userAdmin";
const KEY_ADMIN = "organizations/1/roles/keyAdmin";
const u = (n: string) => `${n}@acme.test`;
const sa = (n: string) => `${n}@p1.iam.gserviceaccount.com`;
const SA = (email: string) => `/api/v1/projects/p1/serviceAccounts/${email}`;

const WORLD = {
  organizations: [
    { id: "1", displayName: "Acme", domain: "acme.test" },
    { id: "2", displayName: "Other", domain: "other.test" },
  ],
  projects: [
    { id: "p1", number: "4242", parent: ORG },
    { id: "p2", number: "7777", parent: "organizations/2" },
  ],
  resources: [{ name: APP, iap: true, hosts: ["app.acme.test"] }],
  users: [...["owner", "root", "useradmin", "keyadmin", "alice", "bob", "viewer"].map((n) => ({ email: u(n) })), { email: "owner2@other.test" }, { email: "carol@other.test" }],
  serviceAccounts: ["strong", "weak", "equal", "grouped", "passer"].map((n) => ({ email: sa(n) })),
  groups: [
    { email: "eng@acme.test", members: [`user:${u("bob")}`] },
    { email: "powerful@acme.test", members: [`serviceAccount:${sa("grouped")}`] },
  ],
  customRoles: [
    { name: USER_ADMIN, title: "User admin", permissions: ["gatehouse.users.get", "gatehouse.users.list", "gatehouse.users.create", "gatehouse.users.update", "gatehouse.users.delete"] },
    {
      name: KEY_ADMIN,
      title: "Key admin",
      permissions: [
        "iam.serviceAccounts.get",
        "iam.serviceAccounts.list",
        "iam.serviceAccounts.create",
        "iam.serviceAccounts.update",
        "iam.serviceAccounts.delete",
        "iam.serviceAccountKeys.create",
        "iam.serviceAccountKeys.list",
        "iam.serviceAccountKeys.disable",
        "iam.serviceAccountKeys.enable",
        "iam.serviceAccountKeys.delete",
      ],
    },
  ],
  policies: [
    { resource: ORG, bindings: [{ role: "roles/owner", members: [`user:${u("owner")}`] }, { role: USER_ADMIN, members: [`user:${u("useradmin")}`] }] },
    { resource: "organizations/2", bindings: [{ role: "roles/owner", members: ["user:owner2@other.test"] }] },
    {
      resource: "projects/p1",
      bindings: [
        { role: KEY_ADMIN, members: [`user:${u("keyadmin")}`, `serviceAccount:${sa("equal")}`] },
        { role: "roles/viewer", members: [`user:${u("keyadmin")}`, `serviceAccount:${sa("weak")}`, `user:${u("viewer")}`, "user:vip@acme.test"] },
        { role: "roles/owner", members: [`serviceAccount:${sa("strong")}`, "user:vip@acme.test"] },
        { role: "roles/editor", members: ["group:powerful@acme.test"] },
      ],
    },
    { resource: APP, bindings: [{ role: "roles/iap.httpsResourceAccessor", members: [`user:${u("bob")}`, "group:eng@acme.test", `serviceAccount:${sa("passer")}`] }] },
  ],
};

let a: AdminStack;
beforeAll(async () => {
  a = await startAdminStack(WORLD, { bootstrapAdmins: [u("root")] });
});
afterAll(() => a?.stop());

const passes = (principal: string) =>
  evaluate(a.stack.ctx.engine.current().snapshot, { principal, resource: APP, permission: "iap.webServiceVersions.accessViaIAP", request: { time: new Date() } }).allowed;

describe("users", () => {
  it("create (one-time password once), get, list, rename, disable, enable, reset, delete — one record each", async () => {
    const c = await a.oneRecord(() => a.api(u("useradmin"), "POST", "/api/v1/users", { email: "New.Hire@ACME.test", displayName: "New Hire" }), 201);
    expect(c.body).toMatchObject({ principalCreated: true, user: { email: u("new.hire"), principal: `user:${u("new.hire")}`, displayName: "New Hire", disabled: false, consoleAccount: { password: "one-time", sso: false }, owner: false } });
    expect(c.body.password).toMatch(/^[\w-]{20}$/);
    const audit = await a.t.prisma.adminActivityLog.findFirstOrThrow({ where: { methodName: "CreateUser", resourceName: `users/${u("new.hire")}` } });
    expect(JSON.stringify([audit.request, audit.response])).not.toContain(c.body.password);
    expect((await a.api(u("useradmin"), "GET", `/api/v1/users/${u("new.hire")}`)).body.displayName).toBe("New Hire");
    const listed = await a.api(u("useradmin"), "GET", "/api/v1/users?pageSize=3");
    expect(listed.body.users.map((x: { email: string }) => x.email)).toEqual([u("alice"), u("bob"), u("keyadmin")]);
    const rest = await a.api(u("useradmin"), "GET", `/api/v1/users?pageSize=100&pageToken=${listed.body.nextPageToken}`);
    // Only acme.test's users: other.test is organization 2's.
    expect(rest.body.users.every((x: { email: string }) => x.email.endsWith("@acme.test"))).toBe(true);
    expect((await a.api(u("useradmin"), "GET", "/api/v1/users?filter=HIRE")).body.users.map((x: { email: string }) => x.email)).toEqual([u("new.hire")]);
    await a.oneRecord(() => a.api(u("useradmin"), "PATCH", `/api/v1/users/${u("new.hire")}`, { displayName: "Hired" }));
    const off = await a.oneRecord(() => a.api(u("useradmin"), "PATCH", `/api/v1/users/${u("new.hire")}`, { disabled: true }));
    expect(off.body.user.disabled).toBe(true);
    expect(a.stack.ctx.engine.current().snapshot.principals.get(`user:${u("new.hire")}`)?.disabled).toBe(true);
    await a.oneRecord(() => a.api(u("useradmin"), "PATCH", `/api/v1/users/${u("new.hire")}`, { disabled: false }));
    const reset = await a.oneRecord(() => a.api(u("useradmin"), "POST", `/api/v1/users/${u("new.hire")}:resetPassword`, {}));
    expect(reset.body.password).not.toBe(c.body.password);
    const del = await a.oneRecord(() => a.api(u("useradmin"), "DELETE", `/api/v1/users/${u("new.hire")}`));
    expect(del.body.deletedMember).toMatch(/^deleted:user:new\.hire@acme\.test\?uid=/);
    expect(await a.t.prisma.user.count({ where: { email: u("new.hire") } })).toBe(0);
  });

  it("deleting a user rewrites its bindings and memberships: a new user with the same email inherits nothing", async () => {
    expect(passes(`user:${u("bob")}`)).toBe(true);
    const uid = (await a.t.prisma.principal.findUniqueOrThrow({ where: { email: u("bob") } })).id;
    const del = await a.oneRecord(() => a.api(u("useradmin"), "DELETE", `/api/v1/users/${u("bob")}`));
    const gone = `deleted:user:${u("bob")}?uid=${uid}`;
    expect(del.body.deletedMember).toBe(gone);
    expect(await a.t.prisma.bindingMember.count({ where: { member: gone } })).toBe(1);
    expect(await a.t.prisma.groupMember.count({ where: { member: gone } })).toBe(1);
    expect(await a.t.prisma.bindingMember.count({ where: { member: `user:${u("bob")}` } })).toBe(0);
    await a.oneRecord(() => a.api(u("useradmin"), "POST", "/api/v1/users", { email: u("bob") }), 201);
    expect(passes(`user:${u("bob")}`)).toBe(false);
    expect(a.stack.ctx.engine.current().snapshot.groups.get("group:eng@acme.test")?.members).toEqual([gone]);
  });

  it("refuses bad input with the field named and writes nothing", async () => {
    for (const [body, field] of [
      [{ email: "аda@acme.test" }, "email"], // Cyrillic а
      [{ email: sa("robot") }, "email"],
      [{ email: u("x"), displayName: "y".repeat(101) }, "displayName"],
      [{ email: u("x"), extra: 1 }, ""],
      [{}, "email"],
    ] as const) {
      const r = await a.unchanged(() => a.api(u("useradmin"), "POST", "/api/v1/users", body), 400, "INVALID_ARGUMENT");
      expect(JSON.stringify(r.body.error)).toContain(field);
    }
    await a.unchanged(() => a.api(u("useradmin"), "POST", "/api/v1/users", { email: u("bob") }), 409, "ALREADY_EXISTS");
    await a.unchanged(() => a.api(u("useradmin"), "POST", "/api/v1/users", { email: u("alice"), consoleAccount: false }), 409, "ALREADY_EXISTS");
    await a.unchanged(() => a.api(u("useradmin"), "PATCH", `/api/v1/users/${u("alice")}`, { disabled: "yes" }), 400, "INVALID_ARGUMENT");
    await a.unchanged(() => a.api(u("useradmin"), "PATCH", `/api/v1/users/${u("nobody")}`, { disabled: true }), 404, "NOT_FOUND");
    await a.unchanged(() => a.api(u("useradmin"), "POST", `/api/v1/users/${u("alice")}:resetPassword`, {}), 404, "NOT_FOUND"); // no console account
  });

  it("another organization's users are not one's own: disabling or deleting them from a different organization is refused", async () => {
    await a.unchanged(() => a.api("owner2@other.test", "PATCH", `/api/v1/users/${u("alice")}`, { disabled: true }), 403, "PERMISSION_DENIED");
    await a.unchanged(() => a.api("owner2@other.test", "DELETE", `/api/v1/users/${u("alice")}`), 403, "PERMISSION_DENIED");
    await a.unchanged(() => a.api(u("useradmin"), "PATCH", "/api/v1/users/carol@other.test", { disabled: true }), 403, "PERMISSION_DENIED");
    await a.unchanged(() => a.api(u("useradmin"), "DELETE", "/api/v1/users/carol@other.test"), 403, "PERMISSION_DENIED");
    await a.unchanged(() => a.api(u("viewer"), "PATCH", `/api/v1/users/${u("alice")}`, { disabled: true }), 403, "PERMISSION_DENIED");
    // Seen or missing, the refusal is the same.
    const seen = await a.unchanged(() => a.api("owner2@other.test", "GET", `/api/v1/users/${u("alice")}`), 403);
    const missing = await a.unchanged(() => a.api("owner2@other.test", "GET", `/api/v1/users/${u("nobody")}`), 403);
    expect(missing.body.error.message).toBe(seen.body.error.message);
    await a.unchanged(() => a.api(u("viewer"), "GET", "/api/v1/users"), 403, "PERMISSION_DENIED");
    // Control: each organization governs its own.
    await a.oneRecord(() => a.api("owner2@other.test", "PATCH", "/api/v1/users/carol@other.test", { disabled: true }));
    await a.oneRecord(() => a.api("owner2@other.test", "PATCH", "/api/v1/users/carol@other.test", { disabled: false }));
  });

  it("a password handed to the admin is a credential: refused for a user who holds more than the admin", async () => {
    // vip@acme.test is named roles/owner on projects/p1 before it exists.
    const r = await a.unchanged(() => a.api(u("useradmin"), "POST", "/api/v1/users", { email: "vip@acme.test" }), 403, "PERMISSION_DENIED");
    expect(r.body.error.message).toMatch(/cannot obtain a credential of user:vip@acme\.test: it holds roles\/(owner|viewer) on projects\/p1/);
    // Without a console account nothing is handed over: allowed (it signs in by SSO).
    await a.oneRecord(() => a.api(u("useradmin"), "POST", "/api/v1/users", { email: "vip@acme.test", consoleAccount: false }), 201);
    // The organization's owner: its password cannot be reset by a mere user admin…
    const account = await a.oneRecord(() => a.api(u("root"), "POST", "/api/v1/users", { email: u("owner") }), 201);
    expect(account.body.principalCreated).toBe(false);
    await a.unchanged(() => a.api(u("useradmin"), "POST", `/api/v1/users/${u("owner")}:resetPassword`, {}), 403, "PERMISSION_DENIED");
    // …but by someone who holds as much (control).
    await a.oneRecord(() => a.api(u("root"), "POST", `/api/v1/users/${u("owner")}:resetPassword`, {}));
    // A user with nothing: fine.
    await a.oneRecord(() => a.api(u("useradmin"), "POST", "/api/v1/users", { email: u("plain") }), 201);
    await a.oneRecord(() => a.api(u("useradmin"), "POST", `/api/v1/users/${u("plain")}:resetPassword`, {}));
  });

  it("instance owners are made, disabled, reset and deleted by instance owners only", async () => {
    await a.unchanged(() => a.api(u("useradmin"), "POST", "/api/v1/users", { email: u("boss"), owner: true }), 403, "PERMISSION_DENIED");
    await a.unchanged(() => a.api(u("owner"), "POST", "/api/v1/users", { email: u("boss"), owner: true }), 403, "PERMISSION_DENIED");
    const c = await a.oneRecord(() => a.api(u("root"), "POST", "/api/v1/users", { email: u("boss"), owner: true }), 201);
    expect(c.body.user.owner).toBe(true);
    const audit = await a.t.prisma.adminActivityLog.findFirstOrThrow({ where: { methodName: "CreateUser", resourceName: `users/${u("boss")}` } });
    expect(audit.bindingDeltas).toEqual([{ action: "ADD", role: "roles/owner", member: `user:${u("boss")}` }]);
    await a.unchanged(() => a.api(u("useradmin"), "PATCH", `/api/v1/users/${u("boss")}`, { disabled: true }), 403, "PERMISSION_DENIED");
    await a.unchanged(() => a.api(u("useradmin"), "DELETE", `/api/v1/users/${u("boss")}`), 403, "PERMISSION_DENIED");
    await a.unchanged(() => a.api(u("useradmin"), "POST", `/api/v1/users/${u("boss")}:resetPassword`, {}), 403, "PERMISSION_DENIED");
    // Controls: renaming is the organization's business; removal the instance owners'.
    await a.oneRecord(() => a.api(u("useradmin"), "PATCH", `/api/v1/users/${u("boss")}`, { displayName: "The Boss" }));
    await a.oneRecord(() => a.api(u("root"), "DELETE", `/api/v1/users/${u("boss")}`));
    expect(await a.t.prisma.instanceOwner.count({ where: { email: u("boss") } })).toBe(0);
    // A new account with the same email is not an owner.
    const again = await a.oneRecord(() => a.api(u("useradmin"), "POST", "/api/v1/users", { email: u("boss") }), 201);
    expect(again.body.user.owner).toBe(false);
  });
});

describe("service accounts", () => {
  it("create, get, list, update, disable, delete — one record each; deleting rewrites its bindings", async () => {
    const c = await a.oneRecord(() => a.api(u("keyadmin"), "POST", "/api/v1/projects/p1/serviceAccounts", { accountId: "builder", displayName: "Builder" }), 201);
    expect(c.body.serviceAccount).toMatchObject({ name: `projects/p1/serviceAccounts/${sa("builder")}`, projectId: "p1", email: sa("builder"), displayName: "Builder", disabled: false });
    expect((await a.api(u("keyadmin"), "GET", SA(sa("builder")))).body.uniqueId).toBe(c.body.serviceAccount.uniqueId);
    expect((await a.api(u("keyadmin"), "GET", `/api/v1/projects/-/serviceAccounts/${sa("builder")}`)).body.email).toBe(sa("builder"));
    const listed = await a.api(u("keyadmin"), "GET", "/api/v1/projects/p1/serviceAccounts?pageSize=2");
    expect(listed.body.accounts.map((x: { email: string }) => x.email)).toEqual([sa("builder"), sa("equal")]);
    expect(listed.body.nextPageToken).toBeDefined();
    await a.oneRecord(() => a.api(u("keyadmin"), "PATCH", SA(sa("builder")), { description: "CI", disabled: true }));
    expect(a.stack.ctx.engine.current().snapshot.principals.get(`serviceAccount:${sa("builder")}`)?.disabled).toBe(true);
    const del = await a.oneRecord(() => a.api(u("keyadmin"), "DELETE", SA(sa("builder"))));
    expect(del.body.deletedMember).toBe(`deleted:serviceAccount:${sa("builder")}?uid=${c.body.serviceAccount.uniqueId}`);
    // One with bindings: they become deleted:…
    const passerId = (await a.t.prisma.principal.findUniqueOrThrow({ where: { email: sa("passer") } })).id;
    await a.oneRecord(() => a.api(u("owner"), "DELETE", SA(sa("passer"))));
    expect(await a.t.prisma.bindingMember.count({ where: { member: `deleted:serviceAccount:${sa("passer")}?uid=${passerId}` } })).toBe(1);
    await a.oneRecord(() => a.api(u("owner"), "POST", "/api/v1/projects/p1/serviceAccounts", { accountId: "passer" }), 201);
    expect(passes(`serviceAccount:${sa("passer")}`)).toBe(false);
  });

  it("refuses bad input, other projects, and unseen accounts like missing ones, writing nothing", async () => {
    for (const body of [{ accountId: "Bad" }, { accountId: "ab" }, { accountId: "builder2", extra: 1 }, {}]) {
      await a.unchanged(() => a.api(u("keyadmin"), "POST", "/api/v1/projects/p1/serviceAccounts", body), 400, "INVALID_ARGUMENT");
    }
    await a.unchanged(() => a.api(u("keyadmin"), "POST", "/api/v1/projects/p1/serviceAccounts", { accountId: "strong" }), 409, "ALREADY_EXISTS");
    await a.unchanged(() => a.api(u("keyadmin"), "POST", "/api/v1/projects/p2/serviceAccounts", { accountId: "sneaky" }), 403, "PERMISSION_DENIED");
    const seen = await a.unchanged(() => a.api(u("alice"), "GET", SA(sa("strong"))), 403, "PERMISSION_DENIED");
    const missing = await a.unchanged(() => a.api(u("alice"), "GET", SA(sa("ghost"))), 403, "PERMISSION_DENIED");
    expect(missing.body.error.message).toBe(seen.body.error.message);
    await a.unchanged(() => a.api(u("keyadmin"), "GET", SA(sa("ghost"))), 404, "NOT_FOUND");
    await a.unchanged(() => a.api(u("keyadmin"), "DELETE", `${SA(sa("weak"))}/keys/${"0".repeat(40)}`), 404, "NOT_FOUND");
    await a.unchanged(() => a.api(u("viewer"), "PATCH", SA(sa("weak")), { disabled: true }), 403, "PERMISSION_DENIED");
  });

  it("keys: create (the key file once), list, disable, enable, delete — one record each", async () => {
    const c = await a.oneRecord(() => a.api(u("keyadmin"), "POST", `${SA(sa("weak"))}/keys`, {}), 201);
    const file = JSON.parse(Buffer.from(c.body.privateKeyData, "base64").toString()) as { client_email: string; private_key_id: string; private_key: string; token_uri: string };
    expect(file).toMatchObject({ client_email: sa("weak"), private_key_id: c.body.key.id, token_uri: "http://gatehouse.test/api/v1/token" });
    expect(file.private_key).toMatch(/BEGIN PRIVATE KEY/);
    const audit = await a.t.prisma.adminActivityLog.findFirstOrThrow({ where: { methodName: "CreateServiceAccountKey", resourceName: c.body.key.name } });
    expect(JSON.stringify([audit.request, audit.response])).not.toContain("PRIVATE KEY");
    const listed = await a.api(u("keyadmin"), "GET", `${SA(sa("weak"))}/keys`);
    expect(listed.body.keys).toEqual([expect.objectContaining({ id: c.body.key.id, disabled: false, keyType: "USER_MANAGED" })]);
    expect(JSON.stringify(listed.body)).not.toContain("PRIVATE");
    expect((await a.oneRecord(() => a.api(u("keyadmin"), "POST", `${SA(sa("weak"))}/keys/${c.body.key.id}:disable`, {}))).body.key.disabled).toBe(true);
    expect((await a.oneRecord(() => a.api(u("keyadmin"), "POST", `${SA(sa("weak"))}/keys/${c.body.key.id}:enable`, {}))).body.key.disabled).toBe(false);
    await a.oneRecord(() => a.api(u("keyadmin"), "DELETE", `${SA(sa("weak"))}/keys/${c.body.key.id}`));
    expect(await a.t.prisma.serviceAccountKey.count({ where: { id: c.body.key.id } })).toBe(0);
  });

  it("minting a key for a service account that holds more than the minter is refused — directly, through a group, or by passage; equal or weaker is allowed", async () => {
    for (const [who, why] of [
      [sa("strong"), /holds roles\/owner on projects\/p1/],
      [sa("grouped"), /holds roles\/editor on projects\/p1 \(through group:powerful@acme\.test\)/],
    ] as const) {
      const r = await a.unchanged(() => a.api(u("keyadmin"), "POST", `${SA(who)}/keys`, {}), 403, "PERMISSION_DENIED");
      expect(r.body.error.message).toMatch(why);
    }
    // Passage counts: the key would let the minter through IAP as the account.
    const passer = "reader";
    await a.oneRecord(() => a.api(u("owner"), "POST", "/api/v1/projects/p1/serviceAccounts", { accountId: passer }), 201);
    const policy = (await a.api(u("owner"), "POST", `/api/v1/${APP}:getIamPolicy`, {})).body;
    await a.oneRecord(() =>
      a.api(u("owner"), "POST", `/api/v1/${APP}:setIamPolicy`, {
        policy: { etag: policy.etag, bindings: [...policy.bindings, { role: "roles/iap.httpsResourceAccessor", members: [`serviceAccount:${sa(passer)}`] }] },
      }),
    );
    const r = await a.unchanged(() => a.api(u("keyadmin"), "POST", `${SA(sa(passer))}/keys`, {}), 403, "PERMISSION_DENIED");
    expect(r.body.error.message).toMatch(/holds roles\/iap\.httpsResourceAccessor on projects\/p1\/iap_web\/compute\/services\/app/);
    // Controls: an account with what the minter holds, or less; and the owner for the strong one.
    await a.oneRecord(() => a.api(u("keyadmin"), "POST", `${SA(sa("equal"))}/keys`, {}), 201);
    await a.oneRecord(() => a.api(u("keyadmin"), "POST", `${SA(sa("weak"))}/keys`, {}), 201);
    await a.oneRecord(() => a.api(u("owner"), "POST", `${SA(sa("strong"))}/keys`, {}), 201);
    // Without iam.serviceAccountKeys.create at all.
    await a.unchanged(() => a.api(u("viewer"), "POST", `${SA(sa("weak"))}/keys`, {}), 403, "PERMISSION_DENIED");
  });
});
