// World files against a real PostgreSQL: the demo seed, idempotent apply, export round-trip,
// refusal without partial writes, deleted-principal semantics, and the audit chain.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@/lib/test/db";
import { AppError } from "@/lib/errors";
import { verifyAdminActivity } from "@/lib/audit/verify";
import { verifyPassword } from "@/lib/auth/password";
import { seedDemo, DEMO_WORLD_FILE, isEmpty } from "@/lib/admin/seed";
import { applyWorld } from "./apply";
import { canonicalWorld } from "./canonical";
import { exportWorld } from "./export";
import { parseWorld } from "./parse";
import { worldCatalog } from "./catalog";
import type { World } from "./schema";

const demoText = fs.readFileSync(DEMO_WORLD_FILE, "utf8");
const opts = { actor: "test", catalog: worldCatalog() };

describe("demo seed", () => {
  let t: TestDatabase;
  let dataDir: string;
  beforeAll(async () => {
    t = await createTestDatabase();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "gh-seed-"));
  });
  afterAll(async () => {
    await t.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("produces the demo world, a console admin and an intact audit chain", async () => {
    expect(await isEmpty(t.prisma)).toBe(true);
    const seeded = await seedDemo(t.prisma, dataDir);
    expect(seeded.changes).toBeGreaterThan(20);
    expect(await isEmpty(t.prisma)).toBe(false);

    const world = await exportWorld(t.prisma);
    // Export lists every section (an empty one included: it is authoritative on apply).
    expect(world).toEqual({ ...canonicalWorld(parseWorld(demoText)), trustedIssuers: [] });
    expect(world.organizations).toHaveLength(1);
    expect(world.folders).toHaveLength(2);
    expect(world.projects?.map((p) => p.id)).toEqual(["demo", "payments"]);
    const kinds = await t.prisma.node.groupBy({ by: ["kind"], _count: true, where: { implicit: false } });
    const count = Object.fromEntries(kinds.map((k) => [k.kind, k._count]));
    expect(count).toMatchObject({ WEB_BACKEND_SERVICE: 4, APPENGINE_VERSION: 1, CLOUD_RUN_SERVICE: 1, RUN_SERVICE: 1, FUNCTION: 1, TUNNEL_INSTANCE: 1 });
    // Nested groups: engineering ⊃ sre ⊃ oncall.
    const sre = await t.prisma.groupMember.findMany({ where: { groupEmail: "sre@example.com" } });
    expect(sre.map((m) => m.member).sort()).toEqual(["group:oncall@example.com", "user:bob@example.com"]);
    // A conditional binding is stored with its condition and makes the policy version 3.
    const demo = await t.prisma.allowPolicy.findUniqueOrThrow({ where: { resourceName: "projects/demo" }, include: { bindings: true } });
    expect(demo.version).toBe(3);
    expect(demo.bindings[0]?.conditionExpression).toBe("!request.path.startsWith('/admin')");
    // Audience of a backend service uses the project number, as IAP does.
    const web = await t.prisma.node.findUniqueOrThrow({ where: { name: "projects/demo/iap_web/compute/services/web" } });
    expect(web.audience).toBe("/projects/100200300/global/backendServices/web");

    const admin = await t.prisma.user.findUniqueOrThrow({ where: { email: "admin@example.com" }, omit: { passwordHash: false } });
    expect(await verifyPassword(seeded.password, admin.passwordHash!)).toBe(true);
    expect(await verifyPassword("wrong", admin.passwordHash!)).toBe(false);
    const creds = JSON.parse(fs.readFileSync(path.join(dataDir, "demo-credentials.json"), "utf8")) as { password: string };
    expect(creds.password).toBe(seeded.password);

    // One record per change of the world, and one for the demo admin's console account.
    const report = await verifyAdminActivity(t.prisma);
    expect(report).toMatchObject({ ok: true, records: seeded.changes + 1 });
    const records = await t.prisma.adminActivityLog.findMany({ orderBy: { seq: "asc" } });
    expect(new Set(records.map((r) => [r.actor, r.revision].join(" ")))).toEqual(new Set([`system:seed ${seeded.revision}`]));
    expect(records.at(-1)).toMatchObject({ methodName: "CreateConsoleAccount", resourceName: "users/admin@example.com" });
  });
});

describe("apply", () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t.drop());

  it("is idempotent and round-trips with export", async () => {
    const first = await applyWorld(t.prisma, parseWorld(demoText), opts);
    expect(first.changes.length).toBeGreaterThan(20);
    expect(first.revision).toBe(1n);
    const again = await applyWorld(t.prisma, parseWorld(demoText), opts);
    expect(again).toEqual({ changes: [], revision: null });
    const exported = await exportWorld(t.prisma);
    const roundTrip = await applyWorld(t.prisma, parseWorld(JSON.stringify(exported)), opts);
    expect(roundTrip.changes).toEqual([]);
    expect(await exportWorld(t.prisma)).toEqual(exported);
    expect((await t.prisma.policyRevision.findUniqueOrThrow({ where: { id: 1 } })).value).toBe(1n);
  });

  it("keeps every changed policy's new version as getIamPolicy shows it, emptied ones included", async () => {
    const w = parseWorld(demoText);
    const payments = { resource: "projects/payments", bindings: [
      { role: "roles/viewer", members: ["user:carol@example.com", "user:alice@example.com"], condition: { title: "Weekdays", description: "Mon–Fri", expression: "request.time.getDayOfWeek() < 5" } },
      { role: "roles/iap.httpsResourceAccessor", members: ["group:sre@example.com"] },
    ] };
    const emptied = w.policies!.find((p) => p.resource !== "projects/payments")!.resource;
    w.policies = [...w.policies!.filter((p) => p.resource !== "projects/payments" && p.resource !== emptied), payments];
    const r = await applyWorld(t.prisma, w, opts);
    expect(r.changes.filter((c) => c.section === "policies").map((c) => `${c.action} ${c.key}`).sort()).toEqual([`delete ${emptied}`, "update projects/payments"]);
    const versions = await t.prisma.policyVersion.findMany({ where: { revision: r.revision! }, orderBy: { resourceName: "asc" } });
    // The reference: the stored rows mapped as lib/admin/policies.ts maps them for getIamPolicy.
    const stored = await t.prisma.allowPolicy.findMany({
      where: { resourceName: { in: [emptied, "projects/payments"] } },
      orderBy: { resourceName: "asc" },
      include: { bindings: { orderBy: { position: "asc" }, include: { members: { orderBy: { position: "asc" } } } } },
    });
    expect(versions.map((v) => ({ resourceName: v.resourceName, etag: v.etag, bindings: v.bindings }))).toEqual(
      stored.map((p) => ({
        resourceName: p.resourceName,
        etag: p.etag,
        bindings: p.bindings.map((b) => ({
          role: b.role,
          members: b.members.map((m) => m.member),
          ...(b.conditionExpression !== null
            ? { condition: { title: b.conditionTitle ?? "", expression: b.conditionExpression, ...(b.conditionDescription ? { description: b.conditionDescription } : {}) } }
            : {}),
        })),
      })),
    );
    expect(versions.find((v) => v.resourceName === emptied)?.bindings).toEqual([]);
    expect(versions.find((v) => v.resourceName === "projects/payments")?.bindings).toEqual([
      // canonical order: by role
      { role: "roles/iap.httpsResourceAccessor", members: ["group:sre@example.com"] },
      { role: "roles/viewer", members: ["user:alice@example.com", "user:carol@example.com"], condition: { title: "Weekdays", description: "Mon–Fri", expression: "request.time.getDayOfWeek() < 5" } },
    ]);
    await applyWorld(t.prisma, parseWorld(demoText), opts);
  });

  it("dry-run plans without writing", async () => {
    const w: World = { ...parseWorld(demoText), users: [...(parseWorld(demoText).users ?? []), { email: "zed@example.com" }] };
    const before = await t.prisma.adminActivityLog.count();
    const revision = (await t.prisma.policyRevision.findUniqueOrThrow({ where: { id: 1 } })).value;
    const plan = await applyWorld(t.prisma, w, { ...opts, dryRun: true });
    expect(plan).toEqual({ changes: [expect.objectContaining({ section: "users", action: "create", key: "zed@example.com" })], revision: null });
    expect(await t.prisma.principal.findUnique({ where: { email: "zed@example.com" } })).toBeNull();
    expect(await t.prisma.adminActivityLog.count()).toBe(before);
    expect((await t.prisma.policyRevision.findUniqueOrThrow({ where: { id: 1 } })).value).toBe(revision);
    expect(await t.prisma.policyChange.count({ where: { revision: { gt: revision } } })).toBe(0);
  });

  it("records binding deltas for a policy change", async () => {
    const w = parseWorld(demoText);
    w.policies = w.policies!.map((p) =>
      p.resource === "projects/payments" ? { ...p, bindings: [{ role: "roles/iap.httpsResourceAccessor", members: ["group:sre@example.com", "user:alice@example.com"] }] } : p,
    );
    const r = await applyWorld(t.prisma, w, opts);
    expect(r.changes.map((c) => `${c.action} ${c.section} ${c.key}`)).toEqual(["update policies projects/payments"]);
    const entry = await t.prisma.adminActivityLog.findFirstOrThrow({ where: { methodName: "SetIamPolicy", resourceName: "projects/payments" }, orderBy: { seq: "desc" } });
    expect(entry.bindingDeltas).toEqual([{ action: "ADD", role: "roles/iap.httpsResourceAccessor", member: "user:alice@example.com" }]);
    expect(entry.serviceName).toBe("cloudresourcemanager.googleapis.com");
    expect(entry.revision).toBe(r.revision);
  });

  it("turns a deleted user's bindings into deleted: members that a new account does not inherit", async () => {
    const w = parseWorld(demoText);
    const withBob = { ...w, policies: [...w.policies!, { resource: "projects/demo/iap_web/compute/services/grafana", bindings: [{ role: "roles/iap.httpsResourceAccessor", members: ["user:bob@example.com"] }] }] };
    await applyWorld(t.prisma, withBob, opts);
    const bob = await t.prisma.principal.findUniqueOrThrow({ where: { email: "bob@example.com" } });
    // Remove bob from users (policies section absent, so bindings are not set by the file).
    await applyWorld(t.prisma, { users: w.users!.filter((u) => u.email !== "bob@example.com") }, opts);
    const members = await t.prisma.bindingMember.findMany({ where: { binding: { policyResourceName: "projects/demo/iap_web/compute/services/grafana" } } });
    expect(members.map((m) => m.member)).toEqual([`deleted:user:bob@example.com?uid=${bob.id}`]);
    const sre = await t.prisma.groupMember.findMany({ where: { groupEmail: "sre@example.com" } });
    expect(sre.map((m) => m.member)).toContain(`deleted:user:bob@example.com?uid=${bob.id}`);
    // A new bob gets a new uid and none of the old grants.
    await applyWorld(t.prisma, { users: w.users! }, opts);
    const newBob = await t.prisma.principal.findUniqueOrThrow({ where: { email: "bob@example.com" } });
    expect(newBob.id).not.toBe(bob.id);
    expect(await t.prisma.bindingMember.count({ where: { member: "user:bob@example.com" } })).toBe(0);
  });

  it("a deleted principal's or group's name in deny rules — denied or excepted, v1 or v2 — becomes deleted: too", async () => {
    const w = parseWorld(demoText);
    const deny = {
      attachedTo: "projects/demo",
      name: "lockdown",
      rules: [
        {
          deniedPrincipals: ["group:oncall@example.com", "principal://goog/subject/Carol@Example.com", "user:mallory@example.com"],
          exceptionPrincipals: ["user:carol@example.com", "principalSet://goog/group/oncall@example.com"],
          deniedPermissions: ["iap.webServiceVersions.accessViaIAP"],
        },
      ],
    };
    await applyWorld(t.prisma, { ...w, denyPolicies: [deny] }, opts);
    const carol = await t.prisma.principal.findUniqueOrThrow({ where: { email: "carol@example.com" } });
    await applyWorld(t.prisma, { users: w.users!.filter((u) => u.email !== "carol@example.com"), groups: w.groups!.filter((g) => g.email !== "oncall@example.com").map((g) => ({ ...g, members: g.members?.filter((m) => m !== "group:oncall@example.com") })) }, opts);
    const rule = await t.prisma.denyRule.findFirstOrThrow({ where: { policy: { policyId: "lockdown" } } });
    const deletedCarol = `deleted:user:carol@example.com?uid=${carol.id}`;
    const deletedGroup = expect.stringMatching(/^deleted:group:oncall@example\.com\?uid=/);
    expect([...rule.deniedPrincipals].sort()).toEqual([deletedGroup, deletedCarol, "user:mallory@example.com"]);
    expect([...rule.exceptionPrincipals].sort()).toEqual([deletedGroup, deletedCarol]);
    // The change feed names the deny policies, so engines reload them.
    const feed = await t.prisma.policyChange.findMany({ where: { kind: "denyPolicies", key: "projects/demo" }, orderBy: { revision: "desc" }, take: 1 });
    expect(feed).toHaveLength(1);
  });
});

describe("disabled principals", () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
    await applyWorld(t.prisma, parseWorld(demoText), opts);
  });
  afterAll(() => t.drop());

  it("apply writes users[].disabled and serviceAccounts[].disabled, export emits them, and they round-trip", async () => {
    const w = parseWorld(demoText);
    w.users = w.users!.map((u) => (u.email === "mallory@example.com" ? { ...u, disabled: true } : u));
    w.serviceAccounts = w.serviceAccounts!.map((s) => ({ ...s, disabled: true }));
    const r = await applyWorld(t.prisma, w, opts);
    expect(r.changes.map((c) => `${c.action} ${c.section} ${c.key}`)).toEqual(["update users mallory@example.com", "update serviceAccounts gateway@payments.iam.gserviceaccount.com"]);
    const rows = await t.prisma.principal.findMany({ where: { disabled: true }, orderBy: { email: "asc" } });
    expect(rows.map((p) => p.email)).toEqual(["gateway@payments.iam.gserviceaccount.com", "mallory@example.com"]);
    const exported = await exportWorld(t.prisma);
    expect(exported.users?.find((u) => u.email === "mallory@example.com")).toEqual({ email: "mallory@example.com", displayName: "Mallory", disabled: true });
    expect(exported.users?.find((u) => u.email === "alice@example.com")).not.toHaveProperty("disabled");
    expect(exported.serviceAccounts).toEqual([{ email: "gateway@payments.iam.gserviceaccount.com", displayName: "API gateway", disabled: true }]);
    expect((await applyWorld(t.prisma, parseWorld(JSON.stringify(exported)), opts)).changes).toEqual([]);
    // `disabled: false` is the default: the demo file (which omits it) re-enables both.
    const back = await applyWorld(t.prisma, parseWorld(demoText), opts);
    expect(back.changes).toHaveLength(2);
    expect(await t.prisma.principal.count({ where: { disabled: true } })).toBe(0);
    expect((await applyWorld(t.prisma, parseWorld(demoText.replace("displayName: Mallory }", "displayName: Mallory, disabled: false }")), opts)).changes).toEqual([]);
  });
});

describe("trusted issuers", () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t.drop());

  it("apply writes domains and allowUnverifiedEmails, export emits them, and they round-trip", async () => {
    const w = parseWorld(`trustedIssuers:
  - { issuer: https://idp.example.com, audiences: [gatehouse], domains: [Example.com, corp.example.com] }
  - { issuer: "http://127.0.0.1:5556/dex", jwksUri: "http://127.0.0.1:5556/dex/keys", audiences: [gatehouse], domains: [example.org], allowUnverifiedEmails: true }
`);
    const r = await applyWorld(t.prisma, w, opts);
    expect(r.changes.map((c) => `${c.action} ${c.key}`).sort()).toEqual(["create http://127.0.0.1:5556/dex", "create https://idp.example.com"]);
    const rows = await t.prisma.trustedIssuer.findMany({ orderBy: { issuer: "asc" } });
    expect(rows.map((i) => [i.issuer, i.domains, i.allowUnverifiedEmails])).toEqual([
      ["http://127.0.0.1:5556/dex", ["example.org"], true],
      ["https://idp.example.com", ["corp.example.com", "example.com"], false],
    ]);
    const exported = await exportWorld(t.prisma);
    expect(exported.trustedIssuers).toEqual([
      { issuer: "http://127.0.0.1:5556/dex", jwksUri: "http://127.0.0.1:5556/dex/keys", audiences: ["gatehouse"], domains: ["example.org"], allowUnverifiedEmails: true },
      { issuer: "https://idp.example.com", audiences: ["gatehouse"], domains: ["corp.example.com", "example.com"] },
    ]);
    expect((await applyWorld(t.prisma, parseWorld(JSON.stringify(exported)), opts)).changes).toEqual([]);
    // Narrowing the domains and requiring verified emails again are updates.
    const narrowed = await applyWorld(t.prisma, parseWorld(`trustedIssuers:
  - { issuer: https://idp.example.com, audiences: [gatehouse], domains: [example.com] }
  - { issuer: "http://127.0.0.1:5556/dex", jwksUri: "http://127.0.0.1:5556/dex/keys", audiences: [gatehouse], domains: [example.org] }
`), opts);
    expect(narrowed.changes.map((c) => `${c.action} ${c.key}`).sort()).toEqual(["update http://127.0.0.1:5556/dex", "update https://idp.example.com"]);
    expect((await t.prisma.trustedIssuer.findMany({ orderBy: { issuer: "asc" } })).map((i) => [i.domains, i.allowUnverifiedEmails])).toEqual([
      [["example.org"], false],
      [["example.com"], false],
    ]);
  });

  it("a row from before domains existed asserts nothing, and its export must be given domains before it applies", async () => {
    await t.prisma.trustedIssuer.create({ data: { issuer: "https://old.example.com", audiences: ["gatehouse"] } });
    const row = await t.prisma.trustedIssuer.findUniqueOrThrow({ where: { issuer: "https://old.example.com" } });
    expect([row.domains, row.allowUnverifiedEmails]).toEqual([[], false]);
    const exported = await exportWorld(t.prisma);
    expect(exported.trustedIssuers?.find((i) => i.issuer === "https://old.example.com")).toEqual({ issuer: "https://old.example.com", audiences: ["gatehouse"], domains: [] });
    expect(() => parseWorld(JSON.stringify(exported), "export.json")).toThrow(AppError);
  });
});

describe("refusals write nothing", () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t.drop());

  async function expectNothingWritten() {
    expect(await t.prisma.node.count()).toBe(0);
    expect(await t.prisma.adminActivityLog.count()).toBe(0);
    expect(await t.prisma.policyRevision.count()).toBe(0);
  }

  it("refuses unknown keys and invalid members with their file position", () => {
    const text = demoText.replace("displayName: Wiki,", "displayName: Wiki, colour: red,").replace("members: [user:dave@example.com]", "members: [dave]");
    try {
      parseWorld(text, "demo.yaml");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(AppError);
      const details = (e as AppError).details.map((d) => `${d.path}: ${d.message}`);
      expect(details).toEqual([
        expect.stringMatching(/^demo\.yaml:\d+:\d+: resources\[1\]\.colour: unknown key "colour"$/),
        expect.stringMatching(/^demo\.yaml:\d+:\d+: groups\[3\]\.members\[0\]: "dave" is not a member string/),
      ]);
    }
  });

  it.each([
    ["an unknown role", (w: World) => w.policies![0]!.bindings.push({ role: "roles/iap.nonsense", members: ["user:a@example.com"] }), /unknown role "roles\/iap.nonsense"/],
    ["an undeclared group", (w: World) => w.policies![0]!.bindings.push({ role: "roles/viewer", members: ["group:ghost@example.com"] }), /group "ghost@example.com" is not declared/],
    ["a group cycle", (w: World) => w.groups![2]!.members!.push("group:engineering@example.com"), /group nesting cycle: .*engineering@example.com/],
    ["a resource in an undeclared project", (w: World) => w.resources!.push({ name: "projects/nope/iap_web/compute/services/x" }), /project "projects\/nope" is not declared/],
    [
      "two resources on one host and path prefix",
      (w: World) => w.resources!.push({ name: "projects/demo/iap_web/compute/services/web2", hosts: ["WEB.example.test"] }),
      /host "web\.example\.test" \(no path prefix\) is claimed by both projects\/demo\/iap_web\/compute\/services\/web \(resources\[\d+\]\) and projects\/demo\/iap_web\/compute\/services\/web2/,
    ],
  ])("refuses %s, and nothing is written", async (_name, mutate, message) => {
    const w = parseWorld(demoText);
    mutate(w);
    const err = await applyWorld(t.prisma, w, opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("FAILED_PRECONDITION");
    expect((err as AppError).details.map((d) => d.message).join("\n")).toMatch(message);
    await expectNothingWritten();
  });
});

describe("audit chain", () => {
  // Every tampering case runs on its own database with an intact chain (checked first), and
  // checks that the stored records really changed — so each can only pass if verify notices.
  let t: TestDatabase;
  beforeEach(async () => {
    t = await createTestDatabase();
    await applyWorld(t.prisma, parseWorld(demoText), opts);
    expect(await verifyAdminActivity(t.prisma)).toMatchObject({ ok: true });
  });
  afterEach(() => t.drop());

  const rows = () => t.prisma.adminActivityLog.findMany({ orderBy: { seq: "asc" } });

  it("reports the first modified record", async () => {
    const victim = await t.prisma.adminActivityLog.findFirstOrThrow({ where: { methodName: "SetIamPolicy" }, orderBy: { seq: "asc" } });
    expect(victim.actor).not.toBe("someone-else");
    await t.prisma.adminActivityLog.update({ where: { seq: victim.seq }, data: { actor: "someone-else" } });
    expect((await t.prisma.adminActivityLog.findUniqueOrThrow({ where: { seq: victim.seq } })).actor).toBe("someone-else");
    const report = await verifyAdminActivity(t.prisma);
    expect(report.ok).toBe(false);
    expect(report.firstBroken).toMatchObject({ seq: victim.seq, reason: expect.stringMatching(/modified/) });
  });

  it("notices a record removed from the middle of the chain", async () => {
    const before = await rows();
    expect(before.length).toBeGreaterThan(3);
    const victim = before[Math.floor(before.length / 2)]!;
    const next = before[Math.floor(before.length / 2) + 1]!;
    await t.prisma.adminActivityLog.delete({ where: { seq: victim.seq } });
    expect((await rows()).map((r) => r.seq)).toEqual(before.filter((r) => r.seq !== victim.seq).map((r) => r.seq));
    const report = await verifyAdminActivity(t.prisma);
    expect(report.ok).toBe(false);
    expect(report.firstBroken).toMatchObject({ seq: next.seq, reason: expect.stringMatching(/removed/) });
  });

  it("notices that the newest record was removed", async () => {
    const before = await rows();
    const last = before[before.length - 1]!;
    await t.prisma.adminActivityLog.delete({ where: { seq: last.seq } });
    expect(await t.prisma.adminActivityLog.count()).toBe(before.length - 1);
    const report = await verifyAdminActivity(t.prisma);
    expect(report.ok).toBe(false);
    expect(report.firstBroken).toMatchObject({ seq: last.seq, reason: expect.stringMatching(/newest records were removed/) });
  });
});
