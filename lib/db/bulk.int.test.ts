// The set-based writers (bulk.ts) against the row writers (writers.ts) they stand in for: the
// same inputs, written one way into one database and the other way into another, must leave
// the same rows (ids and timestamps aside) and report the same changes — creates, updates,
// implicit containers (missing, existing, declared later), replaced members and bindings.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@/lib/test/db";
import * as bulk from "./bulk";
import { RowWriter, type ContainerInput, type PolicyBinding, type PrincipalInput, type ResourceInput } from "./writers";
import { etagFor, type PolicyChangeRef } from "./revision";
import { readPolicies } from "./policy-rows";

type Group = { email: string; displayName?: string; description?: string; members?: string[] };
type Policy = { resource: string; bindings: PolicyBinding[]; version?: number };

/** One step, both ways: row by row in input order, or set-based. */
interface Step {
  rows(w: RowWriter): Promise<void>;
  bulk(w: RowWriter): Promise<void>;
}

const containers = (cs: ContainerInput[], bulkOrder = cs): Step => ({
  rows: async (w) => {
    for (const c of cs) await w.upsertContainer(c);
  },
  // A statement may hold children before their parents.
  bulk: (w) => bulk.createContainers(w, bulkOrder),
});
const resources = (rs: ResourceInput[]): Step => ({
  rows: async (w) => {
    for (const r of rs) await w.upsertResource(r);
  },
  bulk: (w) => bulk.upsertResources(w, rs),
});
const principals = (ps: PrincipalInput[]): Step => ({
  rows: async (w) => {
    for (const p of ps) await w.upsertPrincipal(p);
  },
  bulk: (w) => bulk.upsertPrincipals(w, ps),
});
const groups = (gs: Group[]): Step => ({
  rows: async (w) => {
    for (const g of gs) await w.upsertGroup(g);
  },
  bulk: (w) => bulk.upsertGroups(w, gs),
});
/**
 * RowWriter.setPolicy as it was before it went set-based (Prisma's nested create), kept as the
 * reference that bulk.setPolicies — now also behind RowWriter.setPolicy — must match.
 */
async function setPolicyOneByOne(w: RowWriter, resource: string, bindings: readonly PolicyBinding[], version?: number): Promise<void> {
  await w.ensureContainers(resource);
  await w.tx.allowPolicy.deleteMany({ where: { resourceName: resource } });
  await w.tx.allowPolicy.create({
    data: {
      resourceName: resource,
      version: version ?? (bindings.some((b) => b.condition) ? 3 : 1),
      etag: etagFor(w.revision),
      revision: w.revision,
      bindings: {
        create: bindings.map((b, position) => ({
          position,
          role: b.role,
          conditionTitle: b.condition?.title ?? null,
          conditionDescription: b.condition?.description ?? null,
          conditionExpression: b.condition?.expression ?? null,
          members: { create: b.members.map((member, i) => ({ member, position: i })) },
        })),
      },
    },
  });
  w.changed.push({ kind: "policy", key: resource });
}

const policies = (ps: Policy[]): Step => ({
  rows: async (w) => {
    for (const p of ps) await setPolicyOneByOne(w, p.resource, p.bindings, p.version);
  },
  // The set-based ways: the first policy with what readPoliciesForWrite read just before (as
  // setIamPolicy does), the others through RowWriter.setPolicy, or all at once when there are
  // more than two.
  bulk: async (w) => {
    if (ps.length > 2) return bulk.setPolicies(w, ps);
    const [first, ...rest] = ps;
    await bulk.setPolicies(w, [first!], await bulk.readPoliciesForWrite(w.tx, [first!.resource]));
    for (const p of rest) await w.setPolicy(p.resource, p.bindings, p.version);
  },
});

const ORG: ContainerInput = { kind: "ORGANIZATION", name: "organizations/1", shortId: "1", parent: null, displayName: "Org", domain: "example.com" };
const F55: ContainerInput = { kind: "FOLDER", name: "folders/55", shortId: "55", parent: "organizations/1", displayName: "Eng" };
const F56: ContainerInput = { kind: "FOLDER", name: "folders/56", shortId: "56", parent: "folders/55" };
const DEMO: ContainerInput = { kind: "PROJECT", name: "projects/demo", shortId: "demo", parent: "folders/56", projectNumber: "100200300" };
const PAY: ContainerInput = { kind: "PROJECT", name: "projects/pay", shortId: "pay", parent: "organizations/1", projectNumber: "100200301", displayName: "Pay" };

const cond = { title: "Not admin", description: "no /admin", expression: "!request.path.startsWith('/admin')" };

const STEPS: Step[] = [
  containers([ORG, F55, F56, DEMO, PAY], [PAY, DEMO, F56, F55, ORG]),
  resources([
    // services/web first: its iap_web is created implicitly row by row, then declared.
    { name: "projects/demo/iap_web/compute/services/web", displayName: "Web", iap: true, hosts: ["web.example.test"] },
    { name: "projects/demo/iap_web", iap: false },
    { name: "projects/demo/iap_web/appengine-shop/services/default/versions/v1", iap: true, hosts: ["shop.example.test"] },
    { name: "projects/pay/iap_web/cloud_run-europe-west1/services/ledger", iap: true, hosts: ["ledger.example.test"], pathPrefix: "/app" },
    { name: "projects/pay/locations/europe-west1/services/charge" },
    { name: "projects/pay/locations/europe-west1/functions/refund", displayName: "Refund" },
    { name: "projects/demo/iap_tunnel/zones/europe-west1-b/instances/bastion" },
  ]),
  principals([
    { kind: "USER", email: "alice@example.com", displayName: "Alice" },
    { kind: "USER", email: "bob@example.com", disabled: true },
    { kind: "SERVICE_ACCOUNT", email: "gw@pay.iam.gserviceaccount.com", displayName: "Gateway", description: "API gateway" },
  ]),
  groups([
    { email: "eng@example.com", displayName: "Eng", members: ["user:alice@example.com", "group:sre@example.com"] },
    { email: "sre@example.com", members: ["user:bob@example.com", "serviceAccount:gw@pay.iam.gserviceaccount.com"] },
    { email: "empty@example.com", members: [] },
  ]),
  policies([
    { resource: "projects/demo", bindings: [{ role: "roles/iap.httpsResourceAccessor", members: ["group:eng@example.com", "user:bob@example.com"], condition: cond }, { role: "roles/viewer", members: ["domain:example.com"] }] },
    { resource: "projects/demo/iap_web/compute/services/web", bindings: [{ role: "roles/iap.httpsResourceAccessor", members: ["allUsers"] }] },
    // An implicit container that does not exist yet, and one that does.
    { resource: "projects/pay/iap_web/compute", bindings: [{ role: "roles/iap.admin", members: ["user:alice@example.com"] }] },
    { resource: "projects/pay/iap_web", bindings: [] },
    { resource: "organizations/1", bindings: [{ role: "roles/owner", members: ["user:alice@example.com"] }], version: 1 },
  ]),
  // Updates: rows that exist, an implicit container declared, members and bindings replaced.
  resources([
    { name: "projects/demo/iap_web/compute/services/web", displayName: "Web 2", iap: false, hosts: ["web.example.test", "www.example.test"] },
    { name: "projects/pay/iap_web/compute", iap: true },
    { name: "projects/pay/iap_web/compute/services/admin", iap: true, hosts: ["pay-admin.example.test"] },
  ]),
  principals([
    { kind: "USER", email: "bob@example.com", displayName: "Bob" },
    { kind: "USER", email: "carol@example.com" },
  ]),
  groups([
    { email: "sre@example.com", displayName: "SRE", members: ["user:carol@example.com"] },
    // Members not given: kept.
    { email: "eng@example.com", description: "Engineering" },
  ]),
  policies([
    { resource: "projects/demo", bindings: [{ role: "roles/viewer", members: ["user:carol@example.com"] }] },
    { resource: "projects/demo/iap_web/compute/services/web", bindings: [] },
    { resource: "projects/pay/iap_web/compute/services/admin", bindings: [{ role: "roles/iap.httpsResourceAccessor", members: ["group:sre@example.com"], condition: { title: "t", expression: "true" } }] },
  ]),
  // Policies rewritten as differences: members added in front, moved, removed from the middle;
  // bindings kept, moved, swapped, dropped, and two of one role told apart by their conditions.
  policies([
    {
      resource: "projects/demo",
      bindings: [
        { role: "roles/viewer", members: ["user:dave@example.com", "user:carol@example.com"] },
        { role: "roles/iap.httpsResourceAccessor", members: ["group:eng@example.com"], condition: cond },
        { role: "roles/iap.httpsResourceAccessor", members: ["user:bob@example.com", "user:carol@example.com"], condition: { title: "t2", expression: "true" } },
      ],
    },
    { resource: "organizations/1", bindings: [{ role: "roles/viewer", members: ["user:a@example.com", "user:b@example.com", "user:c@example.com"] }, { role: "roles/owner", members: ["user:bob@example.com", "user:alice@example.com"] }] },
  ]),
  policies([
    {
      resource: "projects/demo",
      bindings: [
        { role: "roles/iap.httpsResourceAccessor", members: ["user:carol@example.com", "user:bob@example.com"], condition: { title: "t2", expression: "true" } },
        { role: "roles/viewer", members: ["user:carol@example.com"] },
        { role: "roles/iap.httpsResourceAccessor", members: ["group:eng@example.com", "user:erin@example.com"], condition: { ...cond, description: "changed" } },
      ],
    },
    // Two kept bindings trade places.
    { resource: "organizations/1", bindings: [{ role: "roles/owner", members: ["user:bob@example.com"] }, { role: "roles/viewer", members: ["user:a@example.com", "user:c@example.com"] }] },
    { resource: "projects/pay/iap_web/compute/services/admin", bindings: [] },
  ]),
];

async function dump(t: TestDatabase) {
  const p = t.prisma;
  const omit = <T extends object>(rows: T[], ...keys: string[]) => rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !keys.includes(k))));
  return {
    nodes: omit(await p.node.findMany({ orderBy: { name: "asc" } }), "createdAt", "updatedAt"),
    principals: omit(await p.principal.findMany({ orderBy: { email: "asc" } }), "id", "createdAt", "updatedAt"),
    groups: omit(await p.group.findMany({ orderBy: { email: "asc" } }), "createdAt", "updatedAt"),
    groupMembers: omit(await p.groupMember.findMany({ orderBy: [{ groupEmail: "asc" }, { member: "asc" }] }), "createdAt"),
    policies: omit(await p.allowPolicy.findMany({ orderBy: { resourceName: "asc" } }), "updatedAt"),
    bindings: omit(await p.binding.findMany({ orderBy: [{ policyResourceName: "asc" }, { position: "asc" }] }), "id"),
    members: (await p.bindingMember.findMany({ include: { binding: { select: { policyResourceName: true, position: true } } } }))
      .map((m) => [m.binding.policyResourceName, m.binding.position, m.position, m.member].join(" "))
      .sort(),
  };
}

const refs = (changed: readonly PolicyChangeRef[]) => [...new Set(changed.map((c) => `${c.kind} ${c.key}`))].sort();

describe("set-based writers", () => {
  let rows: TestDatabase;
  let sets: TestDatabase;
  beforeAll(async () => {
    [rows, sets] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  });
  afterAll(async () => {
    await Promise.all([rows.drop(), sets.drop()]);
  });

  it("leave the rows and report the changes that the row writers do, step by step", async () => {
    for (const [i, step] of STEPS.entries()) {
      const revision = BigInt(i + 1);
      const viaRows = await rows.prisma.$transaction(async (tx) => {
        const w = new RowWriter(tx, revision);
        await step.rows(w);
        return w.changed;
      });
      const viaSets = await sets.prisma.$transaction(async (tx) => {
        const w = new RowWriter(tx, revision);
        await step.bulk(w);
        return w.changed;
      });
      expect(refs(viaSets), `changes of step ${i}`).toEqual(refs(viaRows));
      expect(await dump(sets), `rows after step ${i}`).toEqual(await dump(rows));
      // Both readers of stored policies agree (getIamPolicy's, and the one setIamPolicy diffs with).
      const names = (await sets.prisma.allowPolicy.findMany({ select: { resourceName: true } })).map((p) => p.resourceName);
      const forWrite = await bulk.readPoliciesForWrite(sets.prisma, [...names, "projects/none"]);
      expect(forWrite.get("projects/none")).toEqual({ exists: false, etag: null, bindings: [], stored: [] });
      for (const p of await readPolicies(sets.prisma, names)) expect(forWrite.get(p.resourceName)).toMatchObject({ exists: true, etag: p.etag, bindings: p.bindings });
    }
    // The scenario does what it says: implicit containers were made, and one became declared.
    const nodes = await sets.prisma.node.findMany({ where: { name: { startsWith: "projects/pay/iap_web" } }, orderBy: { name: "asc" } });
    expect(nodes.map((n) => [n.name, n.implicit])).toEqual([
      ["projects/pay/iap_web", true],
      ["projects/pay/iap_web/cloud_run-europe-west1", true],
      ["projects/pay/iap_web/cloud_run-europe-west1/services/ledger", false],
      ["projects/pay/iap_web/compute", false],
      ["projects/pay/iap_web/compute/services/admin", false],
    ]);
    expect((await sets.prisma.node.findUniqueOrThrow({ where: { name: "projects/pay/iap_web/compute/services/admin" } })).audience).toBe("/projects/100200301/global/backendServices/admin");
    expect(await sets.prisma.groupMember.count({ where: { groupEmail: "eng@example.com" } })).toBe(2);
  });

  it("refuse a resource in a project that does not exist, as the row writers do", async () => {
    const input = [{ name: "projects/nope/iap_web/compute/services/x" }];
    const viaRows = await rows.prisma.$transaction((tx) => new RowWriter(tx, 99n).upsertResource(input[0]!)).catch((e: unknown) => e);
    const viaSets = await sets.prisma.$transaction((tx) => bulk.upsertResources(new RowWriter(tx, 99n), input)).catch((e: unknown) => e);
    expect(viaSets).toMatchObject({ code: "FAILED_PRECONDITION", message: (viaRows as Error).message });
  });
});
