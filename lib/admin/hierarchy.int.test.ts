// The resource hierarchy over HTTP against a real PostgreSQL and the live engine: organizations,
// folders, projects, resources and IAP on/off — happy paths with one admin-activity record per
// change; validation errors as 4xx with a code and nothing written; a node one may not see
// refused exactly like a missing one; and the escalation attempts of lib/admin/hierarchy.ts's
// rules, each changing nothing, each with a positive control.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAdminStack, TEST_AUTH_SECRET, type AdminStack } from "@/lib/test/admin-stack";
import { derivedProjectNumber } from "@/lib/world/apply";
import { evaluate } from "@/lib/policy";
import { openOauthClientSecret } from "./hierarchy";

const ORG = "organizations/1";
const APP = "projects/p1/iap_web/compute/services/app";
const PLAIN = "projects/p1/iap_web/compute/services/plain";
const MOVER_ROLE = "organizations/1/roles/projectMover";
const CREATOR_ROLE = "organizations/1/roles/projectCreator";
const DEPLOYER_ROLE = "organizations/1/roles/deployer";

const USERS = ["owner", "owner2", "root", "folderadmin", "mover", "lockedowner", "creator", "deployer", "settings", "viewer", "bob"];
const u = (n: string) => `${n}@acme.test`;
const WORLD = {
  organizations: [
    { id: "1", displayName: "Acme", domain: "acme.test" },
    { id: "2", displayName: "Other", domain: "other.test" },
  ],
  folders: [
    { id: "10", parent: ORG, displayName: "Engineering" },
    { id: "20", parent: ORG, displayName: "Sandbox" },
    { id: "30", parent: ORG, displayName: "Restricted" },
    { id: "31", parent: "folders/30", displayName: "Inner" },
  ],
  projects: [
    { id: "p1", number: "4242", parent: ORG },
    { id: "mine", number: "6666", parent: "folders/10" },
    { id: "own", number: "6667", parent: "folders/10" },
    { id: "locked", number: "5555", parent: "folders/30" },
    { id: "p2", number: "7777", parent: "organizations/2" },
  ],
  resources: [
    { name: APP, iap: true, hosts: ["app.acme.test"] },
    { name: PLAIN, hosts: ["plain.acme.test"] },
  ],
  users: USERS.map((n) => ({ email: u(n) })),
  customRoles: [
    { name: MOVER_ROLE, title: "Project mover", permissions: ["resourcemanager.projects.move", "resourcemanager.projects.get"] },
    { name: CREATOR_ROLE, title: "Project creator", permissions: ["resourcemanager.projects.create"] },
    {
      name: DEPLOYER_ROLE,
      title: "Deployer",
      permissions: ["compute.backendServices.create", "compute.backendServices.update", "compute.backendServices.delete", "compute.backendServices.get"],
    },
  ],
  policies: [
    { resource: ORG, bindings: [{ role: "roles/owner", members: [`user:${u("owner")}`] }] },
    { resource: "organizations/2", bindings: [{ role: "roles/owner", members: [`user:${u("owner2")}`] }] },
    {
      resource: "folders/10",
      bindings: [
        { role: "roles/owner", members: [`user:${u("folderadmin")}`] },
        { role: CREATOR_ROLE, members: [`user:${u("creator")}`] },
      ],
    },
    { resource: "folders/20", bindings: [{ role: "roles/owner", members: [`user:${u("mover")}`] }] },
    { resource: "projects/mine", bindings: [{ role: MOVER_ROLE, members: [`user:${u("mover")}`] }] },
    { resource: "projects/own", bindings: [{ role: "roles/owner", members: [`user:${u("mover")}`] }] },
    { resource: "projects/locked", bindings: [{ role: "roles/owner", members: [`user:${u("lockedowner")}`] }] },
    { resource: "folders/31", bindings: [{ role: CREATOR_ROLE, members: [`user:${u("lockedowner")}`] }] },
    {
      resource: "projects/p1",
      bindings: [
        { role: DEPLOYER_ROLE, members: [`user:${u("deployer")}`] },
        { role: "roles/iap.settingsAdmin", members: [`user:${u("settings")}`] },
        { role: "roles/viewer", members: [`user:${u("viewer")}`] },
      ],
    },
    { resource: APP, bindings: [{ role: "roles/iap.httpsResourceAccessor", members: [`user:${u("bob")}`] }] },
  ],
  denyPolicies: [{ attachedTo: "folders/30", rules: [{ deniedPrincipals: [`user:${u("lockedowner")}`], deniedPermissions: ["iap.webServiceVersions.accessViaIAP"] }] }],
};

let a: AdminStack;
beforeAll(async () => {
  a = await startAdminStack(WORLD, { bootstrapAdmins: [u("root")] });
});
afterAll(() => a?.stop());

const enc = (name: string) => name.split("/").map(encodeURIComponent).join("/");

describe("organizations", () => {
  it("an instance owner creates one (id generated), reads, renames and deletes it; one record per change", async () => {
    const created = await a.oneRecord(() => a.api(u("root"), "POST", "/api/v1/organizations", { displayName: "New Co", domain: "newco.test" }), 201);
    const org = created.body.organization;
    expect(org).toMatchObject({ displayName: "New Co", domain: "newco.test", name: expect.stringMatching(/^organizations\/\d{12}$/) });
    expect((await a.api(u("root"), "GET", `/api/v1/${org.name}`)).body).toMatchObject({ name: org.name, displayName: "New Co" });
    expect((await a.oneRecord(() => a.api(u("root"), "PATCH", `/api/v1/${org.name}`, { displayName: "NewCo" }))).body.organization.displayName).toBe("NewCo");
    // Nothing to change: no record, no revision.
    const same = await a.api(u("root"), "PATCH", `/api/v1/${org.name}`, { displayName: "NewCo" });
    expect([same.status, same.headers.get("x-gatehouse-revision")]).toEqual([200, null]);
    await a.oneRecord(() => a.api(u("root"), "DELETE", `/api/v1/${org.name}`));
    // Gone: refused like any node one may not see.
    expect((await a.api(u("root"), "GET", `/api/v1/${org.name}`)).status).toBe(403);
  });

  it("lists the organizations one may get, paged", async () => {
    const all = await a.api(u("root"), "GET", "/api/v1/organizations?pageSize=1");
    expect(all.body.organizations.map((o: { name: string }) => o.name)).toEqual(["organizations/1"]);
    const next = await a.api(u("root"), "GET", `/api/v1/organizations?pageSize=1&pageToken=${all.body.nextPageToken}`);
    expect(next.body.organizations.map((o: { name: string }) => o.name)).toEqual(["organizations/2"]);
    expect(next.body.nextPageToken).toBeUndefined();
    expect((await a.api(u("owner2"), "GET", "/api/v1/organizations")).body.organizations.map((o: { name: string }) => o.name)).toEqual(["organizations/2"]);
  });

  it("creating an organization needs the permission instance-wide: an owner of one organization is refused", async () => {
    for (const who of ["owner", "owner2", "bob"]) {
      await a.unchanged(() => a.api(u(who), "POST", "/api/v1/organizations", { id: "99", displayName: "Mine" }), 403, "PERMISSION_DENIED");
    }
    await a.unchanged(() => a.api(null, "POST", "/api/v1/organizations", { id: "99" }), 401, "UNAUTHENTICATED");
  });

  it("an organization's domain decides who governs its users: changing it needs the instance-wide permission, and a domain is one organization's", async () => {
    await a.unchanged(() => a.api(u("owner2"), "PATCH", "/api/v1/organizations/2", { domain: "acme2.test" }), 403, "PERMISSION_DENIED");
    await a.unchanged(() => a.api(u("root"), "PATCH", "/api/v1/organizations/2", { domain: "acme.test" }), 409, "ALREADY_EXISTS");
    await a.unchanged(() => a.api(u("root"), "POST", "/api/v1/organizations", { domain: "acme.test" }), 409, "ALREADY_EXISTS");
    // Control: the display name is the organization's own business; the domain the instance owner's.
    await a.oneRecord(() => a.api(u("owner2"), "PATCH", "/api/v1/organizations/2", { displayName: "Other Inc" }));
    await a.oneRecord(() => a.api(u("root"), "PATCH", "/api/v1/organizations/2", { domain: "other2.test" }));
    await a.oneRecord(() => a.api(u("root"), "PATCH", "/api/v1/organizations/2", { domain: "other.test" }));
  });

  it("refuses bad input with the field named and writes nothing", async () => {
    for (const [body, field] of [
      [{ id: "abc" }, "id"],
      [{ domain: "Not A Domain" }, "domain"],
      [{ displayName: "x".repeat(101) }, "displayName"],
      [{ extra: true }, ""],
    ] as const) {
      const r = await a.unchanged(() => a.api(u("root"), "POST", "/api/v1/organizations", body), 400, "INVALID_ARGUMENT");
      expect(JSON.stringify(r.body.error)).toContain(field);
    }
    await a.unchanged(() => a.api(u("root"), "POST", "/api/v1/organizations", { id: "1" }), 409, "ALREADY_EXISTS");
    await a.unchanged(() => a.api(u("root"), "DELETE", "/api/v1/organizations/1"), 409, "FAILED_PRECONDITION");
  });
});

describe("folders and projects", () => {
  it("create, get, rename, list, delete — numbers derived as apply derives them; one record per change", async () => {
    const f = await a.oneRecord(() => a.api(u("owner"), "POST", "/api/v1/folders", { parent: ORG, displayName: "Ops" }), 201);
    const folder = f.body.folder.name as string;
    expect(f.body.folder).toMatchObject({ parent: ORG, displayName: "Ops" });
    expect((await a.api(u("owner"), "GET", `/api/v1/${folder}`)).body).toMatchObject({ name: folder, parent: ORG });
    await a.oneRecord(() => a.api(u("owner"), "PATCH", `/api/v1/${folder}`, { displayName: "Operations" }));
    const moved = await a.oneRecord(() => a.api(u("owner"), "POST", `/api/v1/${folder}:move`, { destinationParent: "folders/20" }));
    expect(moved.body.folder).toMatchObject({ parent: "folders/20", displayName: "Operations" });
    expect((await a.api(u("owner"), "GET", "/api/v1/folders?parent=folders/20")).body.folders.map((x: { name: string }) => x.name)).toEqual([folder]);
    expect(a.stack.ctx.engine.current().snapshot.nodes.get(folder)?.chain).toEqual([folder, "folders/20", ORG]);
    const p = await a.oneRecord(() => a.api(u("owner"), "POST", "/api/v1/projects", { id: "ops-tools", parent: folder, displayName: "Tools" }), 201);
    expect(p.body.project).toMatchObject({ name: "projects/ops-tools", projectId: "ops-tools", projectNumber: derivedProjectNumber("ops-tools"), parent: folder });
    expect((await a.api(u("owner"), "GET", "/api/v1/projects/ops-tools")).body.displayName).toBe("Tools");
    await a.oneRecord(() => a.api(u("owner"), "PATCH", "/api/v1/projects/ops-tools", { displayName: "Ops tools" }));
    expect((await a.api(u("owner"), "GET", `/api/v1/projects?parent=${folder}`)).body.projects.map((x: { name: string }) => x.name)).toEqual(["projects/ops-tools"]);
    // A resource in it gets its audience from the derived number.
    const r = await a.oneRecord(() => a.api(u("owner"), "POST", "/api/v1/resources", { name: "projects/ops-tools/iap_web/compute/services/dash", hosts: ["dash.acme.test"] }), 201);
    expect(r.body.resource.audience).toBe(`/projects/${derivedProjectNumber("ops-tools")}/global/backendServices/dash`);
    // Not empty: refused, nothing written.
    await a.unchanged(() => a.api(u("owner"), "DELETE", "/api/v1/projects/ops-tools"), 409, "FAILED_PRECONDITION");
    await a.unchanged(() => a.api(u("owner"), "DELETE", `/api/v1/${folder}`), 409, "FAILED_PRECONDITION");
    await a.oneRecord(() => a.api(u("owner"), "DELETE", "/api/v1/resources/projects/ops-tools/iap_web/compute/services/dash"));
    await a.oneRecord(() => a.api(u("owner"), "DELETE", "/api/v1/projects/ops-tools"));
    await a.oneRecord(() => a.api(u("owner"), "DELETE", `/api/v1/${folder}`));
    expect(await a.t.prisma.node.count({ where: { name: { startsWith: "projects/ops-tools" } } })).toBe(0);
  });

  it("lists what one may get: a project viewer sees its project only; paging holds up under filtering", async () => {
    expect((await a.api(u("viewer"), "GET", "/api/v1/projects")).body.projects.map((x: { name: string }) => x.name)).toEqual(["projects/p1"]);
    const first = await a.api(u("owner"), "GET", "/api/v1/projects?pageSize=2");
    expect(first.body.projects.map((x: { name: string }) => x.name)).toEqual(["projects/locked", "projects/mine"]);
    const rest = await a.api(u("owner"), "GET", `/api/v1/projects?pageSize=10&pageToken=${first.body.nextPageToken}`);
    // projects/p2 is organization 2's: not the owner of organization 1's to see.
    expect(rest.body.projects.map((x: { name: string }) => x.name)).toEqual(["projects/own", "projects/p1"]);
    expect((await a.api(u("owner"), "GET", "/api/v1/projects?pageToken=nope")).status).toBe(400);
  });

  it("refuses bad input with the field named and writes nothing", async () => {
    for (const [body, field] of [
      [{ id: "Bad_Id", parent: ORG }, "id"],
      [{ id: "okay", parent: "projects/p1" }, "parent"],
      [{ id: "okay", parent: ORG, number: "12x" }, "number"],
      [{ id: "okay" }, "parent"],
    ] as const) {
      const r = await a.unchanged(() => a.api(u("owner"), "POST", "/api/v1/projects", body), 400, "INVALID_ARGUMENT");
      expect(JSON.stringify(r.body.error)).toContain(field);
    }
    await a.unchanged(() => a.api(u("owner"), "POST", "/api/v1/projects", { id: "p1", parent: ORG }), 409, "ALREADY_EXISTS");
    await a.unchanged(() => a.api(u("owner"), "POST", "/api/v1/projects", { id: "twin", number: "4242", parent: ORG }), 409, "ALREADY_EXISTS");
    await a.unchanged(() => a.api(u("owner"), "POST", "/api/v1/folders/30:move", { destinationParent: "folders/31" }), 400, "INVALID_ARGUMENT");
    await a.unchanged(() => a.api(u("owner"), "POST", "/api/v1/folders/30:move", { destinationParent: "projects/p1" }), 400, "INVALID_ARGUMENT");
    expect((await a.api(u("owner"), "PUT", "/api/v1/projects/p1")).status).toBe(405);
  });

  it("a node one may not see is refused exactly like a missing one", async () => {
    const seen = await a.unchanged(() => a.api(u("bob"), "GET", "/api/v1/projects/p1"), 403, "PERMISSION_DENIED");
    const missing = await a.unchanged(() => a.api(u("bob"), "GET", "/api/v1/projects/nope"), 403, "PERMISSION_DENIED");
    expect(missing.body.error.message).toBe(seen.body.error.message.replace("projects/p1", "projects/nope"));
    expect(seen.body.error.message).toMatch(/\(or it may not exist\)/);
    const del = await a.unchanged(() => a.api(u("bob"), "DELETE", "/api/v1/folders/10"), 403, "PERMISSION_DENIED");
    const delMissing = await a.unchanged(() => a.api(u("bob"), "DELETE", "/api/v1/folders/404"), 403, "PERMISSION_DENIED");
    expect(delMissing.body.error.message).toBe(del.body.error.message.replace("folders/10", "folders/404"));
    const res = await a.unchanged(() => a.api(u("bob"), "GET", `/api/v1/resources/${PLAIN}`), 403);
    const resMissing = await a.unchanged(() => a.api(u("bob"), "GET", "/api/v1/resources/projects/p1/iap_web/compute/services/ghost"), 403);
    expect(resMissing.body.error.message).toBe(res.body.error.message.replace("plain", "ghost"));
  });

  it("creating a project needs resourcemanager.projects.create on the parent: not elsewhere, not on a missing one", async () => {
    await a.unchanged(() => a.api(u("creator"), "POST", "/api/v1/projects", { id: "sneaky", parent: "folders/20" }), 403, "PERMISSION_DENIED");
    await a.unchanged(() => a.api(u("creator"), "POST", "/api/v1/projects", { id: "sneaky", parent: ORG }), 403, "PERMISSION_DENIED");
    await a.unchanged(() => a.api(u("creator"), "POST", "/api/v1/projects", { id: "sneaky", parent: "folders/999" }), 403, "PERMISSION_DENIED");
    await a.unchanged(() => a.api(u("viewer"), "POST", "/api/v1/folders", { parent: ORG }), 403, "PERMISSION_DENIED");
    // Control: where it holds the permission. No owner binding comes with it (rule 2).
    const ok = await a.oneRecord(() => a.api(u("creator"), "POST", "/api/v1/projects", { id: "legit", parent: "folders/10" }), 201);
    expect(ok.body.project.parent).toBe("folders/10");
    expect(await a.t.prisma.allowPolicy.count({ where: { resourceName: "projects/legit" } })).toBe(0);
    await a.unchanged(() => a.api(u("creator"), "DELETE", "/api/v1/projects/legit"), 403, "PERMISSION_DENIED");
    await a.oneRecord(() => a.api(u("owner"), "DELETE", "/api/v1/projects/legit"));
  });
});

describe("moving is granting", () => {
  it("refuses a move into a folder where the mover holds more than on the project; the mover's own project may go", async () => {
    // mover: projectMover on projects/mine, owner of folders/20 → would become owner of mine.
    const r = await a.unchanged(() => a.api(u("mover"), "POST", "/api/v1/projects/mine:move", { destinationParent: "folders/20" }), 403, "PERMISSION_DENIED");
    expect(r.body.error.message).toMatch(/would grant roles\/owner/);
    // Control: a project it owns already gains nothing it does not hold.
    const ok = await a.oneRecord(() => a.api(u("mover"), "POST", "/api/v1/projects/own:move", { destinationParent: "folders/20" }));
    expect(ok.body.project.parent).toBe("folders/20");
    const audit = await a.t.prisma.adminActivityLog.findFirstOrThrow({ where: { methodName: "MoveProject", resourceName: "projects/own" } });
    expect(audit.response).toEqual({ previousParent: "folders/10" });
    // Control: the organization's owner moves mine (it holds everything there).
    await a.oneRecord(() => a.api(u("owner"), "POST", "/api/v1/projects/mine:move", { destinationParent: "folders/20" }));
    await a.oneRecord(() => a.api(u("owner"), "POST", "/api/v1/projects/mine:move", { destinationParent: "folders/10" }));
    // Moving needs .create on the destination and .move on the node.
    await a.unchanged(() => a.api(u("folderadmin"), "POST", "/api/v1/projects/mine:move", { destinationParent: "folders/20" }), 403, "PERMISSION_DENIED");
    await a.unchanged(() => a.api(u("creator"), "POST", "/api/v1/projects/mine:move", { destinationParent: "folders/10" }), 403, "PERMISSION_DENIED");
  });

  it("refuses a move out from under a deny policy without iam.denypolicies.update where it is attached", async () => {
    // lockedowner owns projects/locked (under folders/30's deny) and may create projects in folders/31, inside folders/30.
    const inside = await a.oneRecord(() => a.api(u("lockedowner"), "POST", "/api/v1/projects/locked:move", { destinationParent: "folders/31" }));
    expect(inside.body.project.parent).toBe("folders/31"); // still under the deny: nothing lifted
    // Now it may also create projects in folders/20, outside folders/30.
    const policy = (await a.api(u("owner"), "POST", "/api/v1/folders/20:getIamPolicy", { options: { requestedPolicyVersion: 3 } })).body;
    expect(
      (
        await a.api(u("owner"), "POST", "/api/v1/folders/20:setIamPolicy", {
          policy: { etag: policy.etag, bindings: [...policy.bindings, { role: CREATOR_ROLE, members: [`user:${u("lockedowner")}`] }] },
        })
      ).status,
    ).toBe(200);
    const out = await a.unchanged(() => a.api(u("lockedowner"), "POST", "/api/v1/projects/locked:move", { destinationParent: "folders/20" }), 403, "PERMISSION_DENIED");
    expect(out.body.error.message).toMatch(/lift the deny policies attached there.*iam\.denypolicies\.update.*folders\/30/);
    // Control: the organization's owner may lift it (it administers the deny policy).
    await a.oneRecord(() => a.api(u("owner"), "POST", "/api/v1/projects/locked:move", { destinationParent: "folders/20" }));
  });
});

describe("resources", () => {
  it("create, get, update, list, delete with hosts and prefix, validated by the core; one record per change", async () => {
    const name = "projects/p1/iap_web/compute/services/api";
    const c = await a.oneRecord(() => a.api(u("deployer"), "POST", "/api/v1/resources", { name, displayName: "API", hosts: ["API.acme.test."], pathPrefix: "/api" }), 201);
    expect(c.body.resource).toMatchObject({ name, kind: "WEB_BACKEND_SERVICE", hosts: ["api.acme.test"], pathPrefix: "/api", iapEnabled: null, audience: "/projects/4242/global/backendServices/api", oauthClientId: null });
    expect((await a.api(u("deployer"), "GET", `/api/v1/resources/${name}`)).body.displayName).toBe("API");
    const up = await a.oneRecord(() => a.api(u("deployer"), "PATCH", `/api/v1/resources/${name}`, { hosts: ["api.acme.test", "api2.acme.test"], pathPrefix: null }));
    expect(up.body.resource).toMatchObject({ hosts: ["api.acme.test", "api2.acme.test"], pathPrefix: null });
    const listed = await a.api(u("deployer"), "GET", "/api/v1/resources?parent=projects/p1&pageSize=2");
    expect(listed.body.resources.map((r: { name: string }) => r.name)).toEqual([name, APP]);
    expect(listed.body.nextPageToken).toBeDefined();
    // The engine maps the host to it.
    expect(a.stack.ctx.engine.current().snapshot.nodes.get(name)?.hosts).toEqual(["api.acme.test", "api2.acme.test"]);
    await a.oneRecord(() => a.api(u("deployer"), "DELETE", `/api/v1/resources/${name}`));
    expect(await a.t.prisma.node.count({ where: { name } })).toBe(0);
    // Other kinds: a serverless service and a tunnel instance.
    for (const n of ["projects/p1/locations/europe-west1/services/hook", "projects/p1/iap_tunnel/zones/europe-west1-b/instances/vm1"]) {
      await a.oneRecord(() => a.api(u("owner"), "POST", "/api/v1/resources", { name: n }), 201);
      await a.oneRecord(() => a.api(u("owner"), "DELETE", `/api/v1/resources/${n}`));
    }
  });

  it("refuses bad names, hosts and prefixes, and a host and prefix another resource claims — writing nothing", async () => {
    const svc = "projects/p1/iap_web/compute/services/bad";
    for (const [body, field] of [
      [{ name: svc, pathPrefix: "/app/" }, "pathPrefix"],
      [{ name: svc, pathPrefix: "app" }, "pathPrefix"],
      [{ name: svc, hosts: ["*.test"] }, "hosts"],
      [{ name: svc, hosts: ["a b.acme.test"] }, "hosts"],
      [{ name: "projects/p1/iap_web", hosts: ["x.acme.test"] }, "name"],
      [{ name: "projects/p1/nothing/here" }, "name"],
      [{ name: svc, iap: true }, ""],
      [{ name: svc, hosts: ["app.acme.test"] }, "hosts[0]"],
    ] as const) {
      const r = await a.unchanged(() => a.api(u("owner"), "POST", "/api/v1/resources", body), 400, "INVALID_ARGUMENT");
      expect(JSON.stringify(r.body.error), JSON.stringify(body)).toContain(field);
    }
    const dup = await a.unchanged(() => a.api(u("owner"), "POST", "/api/v1/resources", { name: svc, hosts: ["plain.acme.test"] }), 400, "INVALID_ARGUMENT");
    expect(dup.body.error.message).toMatch(/claimed by both projects\/p1\/iap_web\/compute\/services\/plain/);
    await a.unchanged(() => a.api(u("owner"), "PATCH", `/api/v1/resources/${PLAIN}`, { hosts: ["app.acme.test"] }), 400, "INVALID_ARGUMENT");
    await a.unchanged(() => a.api(u("owner"), "POST", "/api/v1/resources", { name: APP }), 409, "ALREADY_EXISTS");
    await a.unchanged(() => a.api(u("owner"), "POST", "/api/v1/resources", { name: "projects/nowhere/iap_web/compute/services/x" }), 403, "PERMISSION_DENIED");
  });

  it("claiming a host another resource serves needs its update permission (and hides what one may not see)", async () => {
    const grab = "projects/mine/iap_web/compute/services/grab";
    const r = await a.unchanged(() => a.api(u("folderadmin"), "POST", "/api/v1/resources", { name: grab, hosts: ["app.acme.test"], pathPrefix: "/admin" }), 403, "PERMISSION_DENIED");
    expect(r.body.error.message).toMatch(/served by another resource/);
    const dup = await a.unchanged(() => a.api(u("folderadmin"), "POST", "/api/v1/resources", { name: grab, hosts: ["app.acme.test"] }), 400, "INVALID_ARGUMENT");
    expect(dup.body.error.message).not.toContain(APP);
    // Control: its own host; and the owner of both may carve /admin out of app.
    await a.oneRecord(() => a.api(u("folderadmin"), "POST", "/api/v1/resources", { name: grab, hosts: ["grab.acme.test"] }), 201);
    await a.oneRecord(() => a.api(u("folderadmin"), "PATCH", `/api/v1/resources/${grab}`, { hosts: ["grab.acme.test", "a.acme.test"] }));
    await a.unchanged(() => a.api(u("folderadmin"), "PATCH", `/api/v1/resources/${grab}`, { hosts: ["grab.acme.test", "app.acme.test"], pathPrefix: "/x" }), 403, "PERMISSION_DENIED");
    await a.oneRecord(() => a.api(u("owner"), "PATCH", `/api/v1/resources/${grab}`, { hosts: ["app.acme.test"], pathPrefix: "/admin" }));
    await a.oneRecord(() => a.api(u("owner"), "DELETE", `/api/v1/resources/${grab}`));
  });

  it("deleting a resource someone else administers (it has a policy the deleter may not set) is refused", async () => {
    const r = await a.unchanged(() => a.api(u("deployer"), "DELETE", `/api/v1/resources/${APP}`), 403, "PERMISSION_DENIED");
    expect(r.body.error.message).toMatch(/also deletes the IAM policy of .*iap\.webServices\.setIamPolicy/);
    await a.unchanged(() => a.api(u("viewer"), "DELETE", `/api/v1/resources/${PLAIN}`), 403, "PERMISSION_DENIED");
    // Control: a resource without a policy is the deployer's to delete; the owner may delete app with its policy.
    const tmp = "projects/p1/iap_web/compute/services/tmp";
    await a.oneRecord(() => a.api(u("deployer"), "POST", "/api/v1/resources", { name: tmp }), 201);
    await a.oneRecord(() => a.api(u("deployer"), "DELETE", `/api/v1/resources/${tmp}`));
  });
});

describe("IAP on and off", () => {
  it("needs iap.webServices.updateSettings: a deployer (who may update the service) and a viewer are refused", async () => {
    await a.unchanged(() => a.api(u("deployer"), "POST", `/api/v1/${PLAIN}:enableIap`, {}), 403, "PERMISSION_DENIED");
    await a.unchanged(() => a.api(u("viewer"), "POST", `/api/v1/${PLAIN}:enableIap`, {}), 403, "PERMISSION_DENIED");
    await a.unchanged(() => a.api(u("deployer"), "POST", `/api/v1/${APP}:disableIap`, {}), 403, "PERMISSION_DENIED");
    // A resource that does not exist is refused like one the caller may not touch.
    const ghost = await a.unchanged(() => a.api(u("settings"), "POST", "/api/v1/projects/p1/iap_web/compute/services/ghost:enableIap", {}), 403, "PERMISSION_DENIED");
    const seen = await a.unchanged(() => a.api(u("bob"), "POST", `/api/v1/${PLAIN}:enableIap`, {}), 403, "PERMISSION_DENIED");
    expect(ghost.body.error.message).toBe(seen.body.error.message.replace("plain", "ghost"));
    await a.unchanged(() => a.api(u("settings"), "POST", "/api/v1/projects/p1/locations/r/services/x:enableIap", {}), 400, "INVALID_ARGUMENT");
  });

  it("enabling creates the OAuth client once, its secret in that answer only and sealed at rest; disabling refuses passage", async () => {
    const on = await a.oneRecord(() => a.api(u("settings"), "POST", `/api/v1/${enc(PLAIN)}:enableIap`, {}));
    const { clientId, clientSecret } = on.body.oauthClient;
    expect(clientId).toMatch(/^4242-[0-9a-f]{32}\.apps\.gatehouse\.internal$/);
    expect(clientSecret).toMatch(/^ghcs_/);
    expect(on.body.resource).toMatchObject({ iapEnabled: true, oauthClientId: clientId });
    const row = await a.t.prisma.node.findUniqueOrThrow({ where: { name: PLAIN }, select: { oauthClientSecret: true } });
    expect(row.oauthClientSecret).not.toContain(clientSecret);
    expect(openOauthClientSecret(TEST_AUTH_SECRET, clientId, row.oauthClientSecret!)).toBe(clientSecret);
    const audit = await a.t.prisma.adminActivityLog.findFirstOrThrow({ where: { methodName: "EnableIap", resourceName: PLAIN } });
    expect(JSON.stringify([audit.request, audit.response])).not.toContain(clientSecret);
    expect(audit.response).toEqual({ iapEnabled: true, oauthClientId: clientId, oauthClientCreated: true });
    expect(a.stack.ctx.engine.current().snapshot.nodes.get(PLAIN)?.iapEnabled).toBe(true);
    // Again: nothing to do, no secret.
    const again = await a.unchanged(() => a.api(u("settings"), "POST", `/api/v1/${PLAIN}:enableIap`, {}), 200);
    expect(again.body.oauthClient).toBeUndefined();
    const off = await a.oneRecord(() => a.api(u("settings"), "POST", `/api/v1/${PLAIN}:disableIap`, {}));
    expect(off.body.resource).toMatchObject({ iapEnabled: false, oauthClientId: clientId });
    expect(evaluate(a.stack.ctx.engine.current().snapshot, { principal: `user:${u("bob")}`, resource: PLAIN, permission: "iap.webServiceVersions.accessViaIAP", request: { time: new Date() } }).reason).toBe("IAP_DISABLED");
    // On again: the same client, no new secret.
    const back = await a.oneRecord(() => a.api(u("settings"), "POST", `/api/v1/${PLAIN}:enableIap`, {}));
    expect([back.body.resource.oauthClientId, back.body.oauthClient]).toEqual([clientId, undefined]);
  });

  it("works on a web service type (an implicit container), which then stays declared", async () => {
    const type = "projects/p1/iap_web/compute";
    await a.oneRecord(() => a.api(u("settings"), "POST", `/api/v1/${type}:disableIap`, {}));
    expect(await a.t.prisma.node.findUniqueOrThrow({ where: { name: type }, select: { implicit: true, iapEnabled: true } })).toEqual({ implicit: false, iapEnabled: false });
  });

  it("the owner deletes a resource with its policy: the policy's removal is in the one record", async () => {
    const r = await a.oneRecord(() => a.api(u("owner"), "DELETE", `/api/v1/resources/${APP}`));
    expect(r.status).toBe(200);
    const audit = await a.t.prisma.adminActivityLog.findFirstOrThrow({ where: { methodName: "DeleteResource", resourceName: APP } });
    expect(audit.bindingDeltas).toEqual([{ action: "REMOVE", role: "roles/iap.httpsResourceAccessor", member: `user:${u("bob")}` }]);
    expect(await a.t.prisma.policyVersion.findFirst({ where: { resourceName: APP }, orderBy: { revision: "desc" } })).toMatchObject({ bindings: [] });
  });
});
