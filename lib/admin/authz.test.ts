// The indirect-grant and denial guards of authz.ts on compiled snapshots (pure; the HTTP paths
// through them are in groups/roles/deny-policies.int.test.ts).
import { describe, expect, it } from "vitest";
import { compile, type DenyPolicy, type PolicyData } from "@/lib/policy";
import { AppError } from "@/lib/errors";
import { principalActor, SYSTEM_CLI } from "./context";
import { checkMembershipGrants, checkNoDenialLifted, checkRolePermissionsAdded, denialsOf, groupsContaining } from "./authz";

const ME = principalActor("user:me@acme.test");
const NODES = [
  { name: "organizations/1", parent: null },
  { name: "folders/2", parent: "organizations/1" },
  { name: "projects/p", parent: "folders/2" },
];

function world(deny: DenyPolicy[], extra: Partial<PolicyData> = {}) {
  return compile({ nodes: NODES, groups: [{ email: "team@acme.test", members: ["user:me@acme.test"] }], denyPolicies: deny, ...extra }, 1);
}
const rule = (r: Partial<DenyPolicy["rules"][number]>, attachedTo = "projects/p"): DenyPolicy => ({ attachedTo, rules: [{ deniedPrincipals: ["user:me@acme.test"], deniedPermissions: ["run.services.get"], ...r }] });
const lifted = (before: DenyPolicy[], after: DenyPolicy[], actor = ME) => {
  try {
    checkNoDenialLifted(world(before), world(after), actor);
    return false;
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe("PERMISSION_DENIED");
    return true;
  }
};

describe("denialsOf", () => {
  it("expands wildcards over the catalogue, minus exception permissions, for the principal's every key", () => {
    const d = denialsOf(world([rule({ deniedPrincipals: ["group:team@acme.test"], deniedPermissions: ["run.services.*"], exceptionPermissions: ["run.services.list"] })]), "user:me@acme.test");
    const perms = d.map((x) => x.permission);
    expect(perms).toContain("run.services.get");
    expect(perms).toContain("run.services.update");
    expect(perms).not.toContain("run.services.list");
    expect(new Set(d.map((x) => x.attachedTo))).toEqual(new Set(["projects/p"]));
  });

  it("skips rules whose exceptions cover the principal, and deleted: principals", () => {
    expect(denialsOf(world([rule({ deniedPrincipals: ["domain:acme.test"], exceptionPrincipals: ["principalSet://goog/group/team@acme.test"] })]), "user:me@acme.test")).toEqual([]);
    expect(denialsOf(world([rule({ deniedPrincipals: ["deleted:user:me@acme.test?uid=1"] })]), "user:me@acme.test")).toEqual([]);
    expect(denialsOf(world([rule({ deniedPrincipals: ["principal://goog/subject/me@acme.test"], deniedPermissions: ["run.googleapis.com/services.get"] })]), "user:me@acme.test")).toEqual([
      { attachedTo: "projects/p", permission: "run.services.get", condition: null },
    ]);
  });
});

describe("checkNoDenialLifted", () => {
  it("refuses lifting by exception, removal or a changed condition", () => {
    expect(lifted([rule({})], [rule({ exceptionPrincipals: ["group:team@acme.test"] })])).toBe(true);
    expect(lifted([rule({})], [])).toBe(true);
    expect(lifted([rule({ deniedPermissions: ["run.services.*"] })], [rule({ deniedPermissions: ["run.services.get"] })])).toBe(true);
    expect(lifted([rule({ denialCondition: { expression: "request.host == 'a'" } })], [rule({ denialCondition: { expression: "request.host == 'b'" } })])).toBe(true);
    // A conditional denial does not stand in for an unconditional one.
    expect(lifted([rule({})], [rule({ denialCondition: { expression: "request.host == 'a'" } })])).toBe(true);
    // A descendant's copy does not cover an ancestor's denial.
    expect(lifted([rule({}, "folders/2")], [rule({}, "projects/p")])).toBe(true);
  });

  it("allows what keeps every denial: the same at the node or an ancestor, or unconditional instead of conditional", () => {
    expect(lifted([rule({})], [rule({}, "organizations/1")])).toBe(false);
    expect(lifted([rule({ denialCondition: { expression: "request.host == 'a'" } })], [rule({})])).toBe(false);
    expect(lifted([rule({})], [rule({ deniedPermissions: ["run.*"] })])).toBe(false);
    expect(lifted([rule({ deniedPrincipals: ["user:other@acme.test"] })], [])).toBe(false);
    expect(lifted([], [rule({})])).toBe(false);
    expect(lifted([rule({})], [], SYSTEM_CLI)).toBe(false);
  });
});

describe("checkMembershipGrants and checkRolePermissionsAdded", () => {
  const data: PolicyData = {
    nodes: NODES,
    groups: [
      { email: "outer@acme.test", members: ["group:inner@acme.test"] },
      { email: "inner@acme.test", members: [] },
      { email: "team@acme.test", members: ["user:me@acme.test"] },
      { email: "access@acme.test", members: [] },
    ],
    roles: [{ name: "organizations/1/roles/r", permissions: ["run.services.get"] }],
    policies: [
      { resource: "organizations/1", bindings: [{ role: "roles/run.invoker", members: ["user:me@acme.test"] }] },
      {
        resource: "projects/p",
        bindings: [
          { role: "roles/owner", members: ["group:outer@acme.test"] },
          { role: "organizations/1/roles/r", members: ["group:team@acme.test"] },
          { role: "roles/iap.httpsResourceAccessor", members: ["group:access@acme.test"] },
        ],
      },
    ],
  };
  const s = compile(data, 1);

  it("finds the groups containing a group transitively", () => {
    expect(groupsContaining(s, "group:inner@acme.test")).toEqual(["group:outer@acme.test"]);
  });

  it("a member added to an inner group is granted the outer group's roles; a deleted: member nothing", () => {
    expect(() => checkMembershipGrants(s, s, ME, "inner@acme.test", ["deleted:user:x@acme.test?uid=2", "user:bob@acme.test"])).toThrow(/roles\/owner on projects\/p \(held by group:outer@acme\.test, which contains group:inner@acme\.test\)/);
    expect(() => checkMembershipGrants(s, s, ME, "inner@acme.test", ["deleted:user:bob@acme.test?uid=1"])).not.toThrow();
    expect(() => checkMembershipGrants(s, s, SYSTEM_CLI, "inner@acme.test", ["user:bob@acme.test"])).not.toThrow();
  });

  it("among many members, one that covers the actor is judged as a self-grant", () => {
    expect(() => checkMembershipGrants(s, s, ME, "access@acme.test", ["user:a@acme.test", "user:b@acme.test"])).not.toThrow();
    expect(() => checkMembershipGrants(s, s, ME, "access@acme.test", ["user:a@acme.test", "group:team@acme.test", "user:b@acme.test"])).toThrow(/group:team@acme\.test, which includes you/);
  });

  it("passage added to a role needs holding it only where a binding of the role covers the actor", () => {
    // me holds run.routes.invoke (the org binding) but nothing else: adding passage to r, bound to team ∋ me.
    expect(() => checkRolePermissionsAdded(s, s, ME, "organizations/1/roles/r", ["run.routes.invoke"])).not.toThrow();
    expect(() => checkRolePermissionsAdded(s, s, ME, "organizations/1/roles/r", ["iap.webServiceVersions.accessViaIAP"])).toThrow(/include you/);
    const notMine = compile({ ...data, groups: [...data.groups!.filter((g) => g.email !== "team@acme.test"), { email: "team@acme.test", members: [] }] }, 2);
    expect(() => checkRolePermissionsAdded(notMine, notMine, ME, "organizations/1/roles/r", ["iap.webServiceVersions.accessViaIAP"])).not.toThrow();
    expect(() => checkRolePermissionsAdded(notMine, notMine, ME, "organizations/1/roles/r", ["run.services.update"])).toThrow(/bound on projects\/p/);
  });
});
