// Privilege-escalation attempts against the admin API's policy methods (DESIGN.md §3 guard rails,
// lib/admin/authz.ts rules). Every refused attempt must change nothing: no revision, no record,
// no binding. Each has a positive control nearby, so a guard that refused everything would fail.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestDatabase } from "@/lib/test/db";
import { startAdminStack, TEST_PUBLIC_URL, type AdminStack } from "@/lib/test/admin-stack";
import { issueIdTokenForPrincipal } from "@/lib/identity/id-token";
import type { DecisionStack } from "@/lib/decide/stack";

const ORG = "organizations/1";
const PROJECT = "projects/p1";
const APP = "projects/p1/iap_web/compute/services/app";
const ACCESSOR = "roles/iap.httpsResourceAccessor";
const SUPER = "organizations/1/roles/superRole";

const USERS = ["owner", "owner2", "iapadmin", "projadmin", "viewer", "bob", "gone"];
const WORLD = {
  organizations: [{ id: "1", displayName: "Acme", domain: "acme.test" }],
  projects: [{ id: "p1", number: "4242", parent: ORG }],
  resources: [{ name: APP, iap: true, hosts: ["app.acme.test"] }],
  users: USERS.map((u) => ({ email: `${u}@acme.test`, ...(u === "gone" ? { disabled: true } : {}) })),
  groups: [
    { email: "admins@acme.test", members: ["user:iapadmin@acme.test"] },
    { email: "empty@acme.test", members: [] },
  ],
  customRoles: [{ name: SUPER, title: "Super", permissions: ["iap.webServices.setIamPolicy", "resourcemanager.projects.delete"] }],
  policies: [
    { resource: ORG, bindings: [{ role: "roles/owner", members: ["user:owner@acme.test", "user:gone@acme.test"] }] },
    {
      resource: PROJECT,
      bindings: [
        { role: "roles/iap.admin", members: ["user:iapadmin@acme.test"] },
        { role: "roles/resourcemanager.projectIamAdmin", members: ["user:projadmin@acme.test"] },
        { role: "roles/viewer", members: ["user:viewer@acme.test"] },
      ],
    },
  ],
};

let a: AdminStack;
let t: TestDatabase;
let stack: DecisionStack;
let base: string;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  a = await startAdminStack(WORLD);
  ({ t, stack, base } = a);
  for (const u of USERS.filter((u) => u !== "gone")) {
    tokens[u] = (await issueIdTokenForPrincipal(t.prisma, stack.ctx.ring, { principal: `user:${u}@acme.test`, audience: TEST_PUBLIC_URL })).token;
  }
  // A token minted before the account was disabled (the CLI refuses to mint one for it now).
  await t.prisma.principal.update({ where: { email: "gone@acme.test" }, data: { disabled: false } });
  tokens.gone = (await issueIdTokenForPrincipal(t.prisma, stack.ctx.ring, { principal: "user:gone@acme.test", audience: TEST_PUBLIC_URL })).token;
  await t.prisma.principal.update({ where: { email: "gone@acme.test" }, data: { disabled: true } });
  await stack.ctx.engine.waitFor(await a.revision(), 2000);
});

afterAll(async () => {
  await a?.stop();
});

type Binding = { role: string; members: string[]; condition?: { title: string; expression: string } };

async function call(who: string, resource: string, method: string, body: unknown) {
  const res = await fetch(`${base}/api/v1/${resource}:${method}`, { method: "POST", headers: { authorization: `Bearer ${tokens[who]}` }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { etag?: string; bindings?: Binding[]; error?: { code: string; message: string } } };
}

/** Reads a policy as the org owner (who may read everything). */
async function policyOf(resource: string) {
  const r = await call("owner", resource, "getIamPolicy", { options: { requestedPolicyVersion: 3 } });
  return { etag: r.body.etag!, bindings: r.body.bindings ?? [] };
}

async function state() {
  return JSON.stringify([
    (await t.prisma.policyRevision.findUniqueOrThrow({ where: { id: 1 } })).value.toString(),
    await t.prisma.adminActivityLog.count(),
    await t.prisma.bindingMember.findMany({ orderBy: [{ bindingId: "asc" }, { member: "asc" }], select: { member: true, binding: { select: { role: true, policyResourceName: true } } } }),
  ]);
}

/** `who` tries to add `bindings` to `resource`'s policy; expects `status` and, if refused, no change. */
async function attempt(who: string, resource: string, add: Binding[], status: number, code?: string, replace = false) {
  await stack.ctx.engine.waitFor((await t.prisma.policyRevision.findUniqueOrThrow({ where: { id: 1 } })).value, 2000);
  const p = await policyOf(resource);
  const before = await state();
  const r = await call(who, resource, "setIamPolicy", { policy: { version: 3, etag: p.etag, bindings: replace ? add : [...p.bindings, ...add] } });
  expect(r.status, `${who} on ${resource}: ${JSON.stringify(r.body)}`).toBe(status);
  if (code) expect(r.body.error?.code).toBe(code);
  if (status !== 200) expect(await state(), "a refused change changed something").toBe(before);
  return r;
}

const user = (u: string) => `user:${u}@acme.test`;

describe("escalation through setIamPolicy is refused, and changes nothing", () => {
  it("an IAP admin hands out access to others — but not to itself, directly or through a group, its domain or everyone", async () => {
    await attempt("iapadmin", APP, [{ role: ACCESSOR, members: [user("bob")] }], 200); // control: what iap.admin is for
    await attempt("iapadmin", APP, [{ role: ACCESSOR, members: [user("iapadmin")] }], 403, "PERMISSION_DENIED");
    await attempt("iapadmin", APP, [{ role: ACCESSOR, members: ["group:admins@acme.test"] }], 403, "PERMISSION_DENIED");
    await attempt("iapadmin", APP, [{ role: ACCESSOR, members: ["domain:acme.test"] }], 403, "PERMISSION_DENIED");
    await attempt("iapadmin", APP, [{ role: ACCESSOR, members: ["allAuthenticatedUsers"] }], 403, "PERMISSION_DENIED");
    await attempt("iapadmin", APP, [{ role: ACCESSOR, members: ["allUsers"] }], 403, "PERMISSION_DENIED");
    await attempt("iapadmin", APP, [{ role: "organizations/1/roles/nope", members: [user("bob")] }], 400, "INVALID_ARGUMENT");
  });

  it("nobody grants a role carrying permissions they do not hold there", async () => {
    await attempt("iapadmin", APP, [{ role: "roles/iap.admin", members: [user("bob")] }], 200); // control: delegating what one holds
    await attempt("iapadmin", APP, [{ role: "roles/owner", members: [user("bob")] }], 403, "PERMISSION_DENIED");
    await attempt("iapadmin", APP, [{ role: "roles/editor", members: [user("bob")] }], 403, "PERMISSION_DENIED");
    await attempt("iapadmin", APP, [{ role: SUPER, members: [user("bob")] }], 403, "PERMISSION_DENIED");
    await attempt("iapadmin", APP, [{ role: "roles/owner", members: [user("iapadmin")] }], 403, "PERMISSION_DENIED");
    await attempt("projadmin", PROJECT, [{ role: "roles/owner", members: [user("bob")] }], 403, "PERMISSION_DENIED");
    await attempt("projadmin", PROJECT, [{ role: "roles/owner", members: [user("projadmin")] }], 403, "PERMISSION_DENIED");
    await attempt("projadmin", PROJECT, [{ role: "roles/iap.admin", members: [user("projadmin")] }], 403, "PERMISSION_DENIED");
    await attempt("projadmin", PROJECT, [{ role: "roles/resourcemanager.projectIamAdmin", members: [user("bob")] }], 200); // control
  });

  it("a permission on a child does not reach its parent; reading or holding less is not setting", async () => {
    await attempt("projadmin", ORG, [{ role: "roles/viewer", members: [user("bob")] }], 403, "PERMISSION_DENIED");
    await attempt("iapadmin", PROJECT, [{ role: "roles/viewer", members: [user("bob")] }], 403, "PERMISSION_DENIED");
    await attempt("viewer", PROJECT, [{ role: "roles/viewer", members: [user("bob")] }], 403, "PERMISSION_DENIED");
    await attempt("viewer", APP, [{ role: ACCESSOR, members: [user("viewer")] }], 403, "PERMISSION_DENIED");
  });

  it("a disabled principal holds nothing, even with a token minted before it was disabled", async () => {
    await attempt("gone", ORG, [{ role: "roles/owner", members: [user("bob")] }], 403, "PERMISSION_DENIED");
  });

  it("no change leaves the organization with nobody able to set its policy", async () => {
    const org = await policyOf(ORG);
    // The owner removes the only live owner (gone@ is disabled: it does not count).
    await attempt("owner", ORG, org.bindings.map((b) => ({ ...b, members: b.members.filter((m) => m !== user("owner")) })), 409, "FAILED_PRECONDITION", true);
    await attempt("owner", ORG, [], 409, "FAILED_PRECONDITION", true);
    // Handing ownership to a group with no members is the same.
    await attempt("owner", ORG, [{ role: "roles/owner", members: ["group:empty@acme.test"] }], 409, "FAILED_PRECONDITION", true);
    // Handing it to someone else first, then stepping down, is fine.
    await attempt("owner", ORG, [{ role: "roles/owner", members: [user("owner2")] }], 200);
    await attempt("owner2", ORG, [{ role: "roles/owner", members: [user("owner2")] }], 200, undefined, true);
  });
});

describe("a change without its audit record cannot commit", () => {
  it("fails as a whole when the audit insert fails midway: no policy change, no revision, no version", async () => {
    await t.prisma.$executeRawUnsafe(`CREATE OR REPLACE FUNCTION gh_fail_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit storage failed'; END $$ LANGUAGE plpgsql`);
    await t.prisma.$executeRawUnsafe(`CREATE TRIGGER gh_fail_audit BEFORE INSERT ON "AdminActivityLog" FOR EACH ROW EXECUTE FUNCTION gh_fail_audit()`);
    try {
      const versions = await t.prisma.policyVersion.count();
      const r = await attempt("iapadmin", APP, [{ role: ACCESSOR, members: [user("viewer")] }], 500, "INTERNAL");
      expect(r.body.error?.message).toBe("Internal error");
      expect(await t.prisma.policyVersion.count()).toBe(versions);
    } finally {
      await t.prisma.$executeRawUnsafe(`DROP TRIGGER gh_fail_audit ON "AdminActivityLog"`);
    }
    await attempt("iapadmin", APP, [{ role: ACCESSOR, members: [user("viewer")] }], 200);
  });
});
