// Policy history against a real PostgreSQL: the snapshot rebuilt at a revision is the one the
// engine had at that revision (later changes to groups, access levels, deny rules, principals,
// nodes and policies do not leak in); a decision made before a membership was removed is
// explained at its revision, still granted through that group; accessAt names the admin-activity
// record that added the binding; and both questions are refused across projects exactly like
// unknown ones.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { snapshotData, type PolicyData, type Snapshot } from "@/lib/policy";
import { createProxyKey } from "@/lib/admin/proxy-keys";
import { SYSTEM_CLI } from "@/lib/admin/context";
import { applyWorld } from "@/lib/world/apply";
import { parseWorld } from "@/lib/world/parse";
import { worldCatalog } from "@/lib/world/catalog";
import { expectError, startAdminStack, type AdminStack } from "@/lib/test/admin-stack";
import { revisionAt, snapshotAt } from "./store";

const APP = "projects/alpha/iap_web/compute/services/app";
const BETA_APP = "projects/beta/iap_web/compute/services/app";
const CORP = "accessPolicies/1/accessLevels/corp";
const TUNNEL = "projects/alpha/iap_tunnel/zones/z1/instances/vm1";
const ACCESSOR = "roles/iap.httpsResourceAccessor";

const world = (v: Version) => ({
  organizations: [{ id: "1", domain: "acme.test" }],
  projects: [
    { id: "alpha", number: "1001", parent: "organizations/1" },
    { id: "beta", number: "1002", parent: "organizations/1" },
  ],
  resources: [
    { name: APP, iap: true, hosts: ["app.acme.test"] },
    { name: BETA_APP, iap: true, hosts: ["beta.acme.test"] },
    { name: TUNNEL, iap: true },
    ...(v.extraResource ? [{ name: "projects/alpha/iap_web/compute/services/extra", iap: true, hosts: ["extra.acme.test"] }] : []),
  ],
  users: ["owner", "alice", "bob", "carol", "mallory", "auditor", "betaauditor"].map((u) => ({ email: `${u}@acme.test`, ...(u === "carol" && v.carolDisabled ? { disabled: true } : {}) })),
  groups: [
    { email: "eng@acme.test", members: v.engMembers },
    { email: "sre@acme.test", members: ["user:bob@acme.test"] },
  ],
  accessLevels: [{ name: CORP, title: "Corp", basic: { conditions: [{ ipSubnetworks: v.corp }] } }],
  policies: [
    { resource: "organizations/1", bindings: [{ role: "roles/owner", members: ["user:owner@acme.test"] }] },
    { resource: "projects/alpha", bindings: [{ role: "roles/logging.privateLogViewer", members: ["user:auditor@acme.test"] }] },
    { resource: "projects/beta", bindings: [{ role: "roles/logging.privateLogViewer", members: ["user:betaauditor@acme.test"] }] },
    {
      resource: APP,
      bindings: [
        { role: ACCESSOR, members: ["group:eng@acme.test", "user:carol@acme.test"] },
        { role: ACCESSOR, members: ["user:mallory@acme.test"], condition: { title: "Corp only", expression: `'${CORP}' in request.auth.access_levels` } },
      ],
    },
    { resource: BETA_APP, bindings: [{ role: ACCESSOR, members: ["user:alice@acme.test"] }] },
    { resource: TUNNEL, bindings: [{ role: "roles/iap.tunnelResourceAccessor", members: ["user:alice@acme.test"], condition: { title: "SSH only", expression: "destination.port == 22" } }] },
  ],
  denyPolicies: v.deny.length ? [{ attachedTo: "projects/alpha", name: "no", rules: [{ deniedPrincipals: v.deny, deniedPermissions: ["iap.webServiceVersions.accessViaIAP"] }] }] : [],
});

interface Version {
  engMembers: string[];
  corp: string[];
  deny: string[];
  carolDisabled: boolean;
  extraResource: boolean;
}
const V1: Version = { engMembers: ["user:alice@acme.test", "group:sre@acme.test"], corp: ["10.0.0.0/8"], deny: [], carolDisabled: false, extraResource: false };
const V2: Version = { engMembers: ["group:sre@acme.test"], corp: ["192.168.0.0/16"], deny: ["user:bob@acme.test"], carolDisabled: true, extraResource: true };

/** PolicyData in a comparable form: arrays sorted by name; policies without etag/version (PolicyVersion keeps neither as the row does). */
function comparable(d: PolicyData): unknown {
  const by = <T>(xs: readonly T[] | undefined, k: (x: T) => string) => [...(xs ?? [])].sort((a, b) => k(a).localeCompare(k(b)));
  return {
    nodes: by(d.nodes, (n) => n.name),
    principals: by(d.principals, (p) => p.member),
    groups: by(d.groups, (g) => g.email),
    roles: by(d.roles, (r) => r.name),
    accessLevels: by(d.accessLevels, (l) => l.name),
    denyPolicies: by(d.denyPolicies, (p) => `${p.attachedTo}/${p.name}`),
    policies: by(d.policies, (p) => p.resource)
      .filter((p) => p.bindings.length > 0)
      .map((p) => ({ resource: p.resource, bindings: p.bindings })),
  };
}

let a: AdminStack;
let proxyKey: string;
const seen = new Map<bigint, Snapshot>();
let r1: bigint;
let r2: bigint;

/** The engine's snapshot at the database's revision, kept to compare history with. */
async function engineAtHead(): Promise<bigint> {
  const revision = await a.revision();
  expect(await a.stack.ctx.engine.waitFor(revision, 10_000)).toBe(true);
  const state = a.stack.ctx.engine.current();
  expect(state.revision).toBe(revision);
  seen.set(revision, state.snapshot);
  return revision;
}

async function apply(v: Version): Promise<bigint> {
  await applyWorld(a.t.prisma, parseWorld(JSON.stringify(world(v))), { actor: "test", catalog: worldCatalog() });
  return engineAtHead();
}

async function decide(principal: string, ip = "203.0.113.9", regionCode?: string, tunnelPort?: number): Promise<{ decisionId: string; allowed: boolean; revision: string }> {
  const request = { method: "GET", host: "app.acme.test", path: "/", ip, ...(regionCode ? { regionCode } : {}) };
  const res = await fetch(`${a.base}/api/v1/decisions`, {
    method: "POST",
    headers: { authorization: `Bearer ${proxyKey}`, "content-type": "application/json" },
    body: JSON.stringify(tunnelPort === undefined ? { principal, resource: APP, request } : { principal, resource: TUNNEL, request: { ip }, destination: { ip: "10.1.0.5", port: tunnelPort } }),
  });
  expect(res.status).toBe(200);
  const body = await res.json();
  // The record is written off the hot path: wait for it.
  for (let i = 0; i < 100 && !(await a.t.prisma.dataAccessLog.findUnique({ where: { decisionId: body.decisionId } })); i++) await new Promise((r) => setTimeout(r, 100));
  return body;
}

const explain = (who: string, id: string) => a.api(who, "GET", `/api/v1/auditLogs/${id}:explain`);
const accessAtCall = (who: string, resource: string, time: string) => a.api(who, "GET", `/api/v1/${resource}:accessAt?time=${encodeURIComponent(time)}`);

let aliceBefore: { decisionId: string; allowed: boolean; revision: string };
let malloryBefore: { decisionId: string; allowed: boolean; revision: string };
let bobAfter: { decisionId: string; allowed: boolean; revision: string };
let betaDecision: { decisionId: string };
let timeAtR1: string;
let sshAllowed: { decisionId: string; allowed: boolean };
let rdpDenied: { decisionId: string; allowed: boolean };

beforeAll(async () => {
  a = await startAdminStack(world(V1));
  proxyKey = (await createProxyKey({ db: a.t.prisma, actor: SYSTEM_CLI }, { name: "trusted", trusted: true, regionHeader: "x-client-region" })).secret;
  r1 = await engineAtHead();
  aliceBefore = await decide("user:alice@acme.test");
  malloryBefore = await decide("user:mallory@acme.test", "10.1.2.3", "DE");
  sshAllowed = await decide("user:alice@acme.test", "203.0.113.9", undefined, 22);
  rdpDenied = await decide("user:alice@acme.test", "203.0.113.9", undefined, 3389);
  timeAtR1 = new Date().toISOString();
  // A second change set: alice leaves eng, corp moves, bob is denied, carol disabled, a node added.
  await new Promise((r) => setTimeout(r, 20));
  r2 = await apply(V2);
  bobAfter = await decide("user:bob@acme.test");
  const res = await fetch(`${a.base}/api/v1/decisions`, {
    method: "POST",
    headers: { authorization: `Bearer ${proxyKey}`, "content-type": "application/json" },
    body: JSON.stringify({ principal: "user:alice@acme.test", resource: BETA_APP, request: { host: "beta.acme.test", path: "/" } }),
  });
  betaDecision = await res.json();
  for (let i = 0; i < 100 && !(await a.t.prisma.dataAccessLog.findUnique({ where: { decisionId: betaDecision.decisionId } })); i++) await new Promise((r) => setTimeout(r, 100));
}, 60_000);

afterAll(async () => {
  await a?.stop();
});

describe("snapshotAt", () => {
  it("rebuilds exactly what the engine had at each revision; later changes do not leak in", async () => {
    expect(r2).toBeGreaterThan(r1);
    for (const [rev, engineSnapshot] of seen) {
      const at = await snapshotAt(a.t.prisma, rev, []);
      if (!at.ok) throw new Error(`history should cover ${rev}`);
      expect(at.snapshot.revision).toBe(rev.toString());
      expect(comparable(snapshotData(at.snapshot))).toEqual(comparable(snapshotData(engineSnapshot)));
    }
    const at1 = await snapshotAt(a.t.prisma, r1, []);
    if (!at1.ok) throw new Error("history should cover r1");
    expect(at1.snapshot.groups.get("group:eng@acme.test")?.members).toContain("user:alice@acme.test");
    expect(at1.snapshot.denyPolicies.get("projects/alpha") ?? []).toEqual([]);
    expect(at1.snapshot.principals.get("user:carol@acme.test")?.disabled).toBeUndefined();
    expect(at1.snapshot.nodes.has("projects/alpha/iap_web/compute/services/extra")).toBe(false);
    expect(at1.snapshot.accessLevels.get(CORP)?.basic?.conditions[0]?.ipSubnetworks).toEqual(["10.0.0.0/8"]);
  });

  it("refuses revisions outside history instead of guessing", async () => {
    const start = (await a.t.prisma.policyHistoryStart.findUnique({ where: { id: 1 } }))!.revision;
    // The first mutation (the stack's world) recorded the baseline at the revision it locked.
    expect(start).toBe(0n);
    expect((await snapshotAt(a.t.prisma, r2 + 100n, [])).ok).toBe(false);
  });

  it("maps a time to the revision in force then", async () => {
    expect((await revisionAt(a.t.prisma, new Date(timeAtR1))).revision).toBe(r1);
    expect((await revisionAt(a.t.prisma, new Date(0))).revision).toBe(0n);
  });
});

describe("GET /api/v1/auditLogs/{insertId}:explain", () => {
  it("explains a decision made before a membership was removed: still granted through that group, matching the record", async () => {
    expect(aliceBefore.allowed).toBe(true);
    // Now alice is no longer in eng: the live engine denies her.
    expect(a.stack.ctx.engine.current().revision).toBe(r2);
    const r = await explain("auditor@acme.test", aliceBefore.decisionId);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.historyAvailable).toBe(true);
    expect(r.body.evaluatedAt.revision).toBe(r1.toString());
    expect(r.body.decision.allowed).toBe(true);
    expect(r.body.decision.grantedBy).toEqual({ resource: APP, role: ACCESSOR, member: "group:eng@acme.test" });
    expect(r.body.decision.trace.some((t: { kind: string; result: string; member?: string }) => t.kind === "binding" && t.result === "GRANTED" && t.member === "group:eng@acme.test")).toBe(true);
    expect(r.body.matches).toBe(true);
    expect(r.body.differences).toEqual([]);
  });

  it("evaluates access levels as they were: the corp range then, the recorded client IP and region", async () => {
    expect(malloryBefore.allowed).toBe(true);
    const r = await explain("auditor@acme.test", malloryBefore.decisionId);
    expect(r.status).toBe(200);
    expect(r.body.recorded.callerIp).toBe("10.1.2.3");
    expect(r.body.recorded.regionCode).toBe("DE");
    expect(r.body.decision.accessLevels.satisfied).toEqual([CORP]);
    expect(r.body.decision.grantedBy.condition).toBe("Corp only");
    expect(r.body.matches).toBe(true);
  });

  it("replays a tunnel check with the destination it was recorded with; the entry names it", async () => {
    expect([sshAllowed.allowed, rdpDenied.allowed]).toEqual([true, false]);
    const ssh = await explain("auditor@acme.test", sshAllowed.decisionId);
    expect(ssh.body.recorded.destination).toEqual({ ip: "10.1.0.5", port: 22 });
    expect(ssh.body).toMatchObject({ matches: true, decision: { allowed: true, grantedBy: { condition: "SSH only" } } });
    const rdp = await explain("auditor@acme.test", rdpDenied.decisionId);
    expect(rdp.body.recorded.destination).toEqual({ ip: "10.1.0.5", port: 3389 });
    expect(rdp.body).toMatchObject({ matches: true, decision: { allowed: false } });
    const list = await a.api("auditor@acme.test", "GET", `/api/v1/auditLogs?stream=data_access&resource=${encodeURIComponent(TUNNEL)}`);
    const entry = list.body.entries.find((e: { insertId: string }) => e.insertId === rdpDenied.decisionId);
    expect(entry.protoPayload.requestMetadata.destinationAttributes).toEqual({ ip: "10.1.0.5", port: "3389" });
  });

  it("explains a denial at its own revision with the deny rule that applied", async () => {
    const r = await explain("auditor@acme.test", bobAfter.decisionId);
    expect(r.status).toBe(200);
    expect(r.body.decision.reason).toBe("DENIED_BY_POLICY");
    expect(r.body.decision.trace.some((t: { kind: string; result: string }) => t.kind === "deny" && t.result === "DENIED")).toBe(true);
    expect(r.body.matches).toBe(true);
  });

  it("notices a record that the history does not reproduce", async () => {
    await a.t.prisma.$executeRaw`UPDATE "DataAccessLog" SET granted = false, reason = 'NO_MATCHING_BINDING' WHERE "decisionId" = ${aliceBefore.decisionId}`;
    try {
      const r = await explain("auditor@acme.test", aliceBefore.decisionId);
      expect(r.body.matches).toBe(false);
      expect(r.body.differences.join(" ")).toMatch(/recorded denied, re-evaluated allowed/);
    } finally {
      await a.t.prisma.$executeRaw`UPDATE "DataAccessLog" SET granted = true, reason = 'GRANTED' WHERE "decisionId" = ${aliceBefore.decisionId}`;
    }
  });

  it("refuses another project's reader, a non-reader and an unknown id with the same answer", async () => {
    const forbidden = await explain("betaauditor@acme.test", aliceBefore.decisionId);
    expectError(forbidden, 403, "PERMISSION_DENIED", /or it may not exist/);
    expectError(await explain("alice@acme.test", aliceBefore.decisionId), 403, "PERMISSION_DENIED");
    const unknown = await explain("betaauditor@acme.test", "00000000-0000-4000-8000-000000000000");
    expectError(unknown, 403, "PERMISSION_DENIED", /or it may not exist/);
    expect(unknown.body.error.message.replace(/auditLogs\/[^']+/, "X")).toBe(forbidden.body.error.message.replace(/auditLogs\/[^']+/, "X"));
    // The beta reader does see beta's decision; alpha's reader does not.
    expect((await explain("betaauditor@acme.test", betaDecision.decisionId)).status).toBe(200);
    expectError(await explain("auditor@acme.test", betaDecision.decisionId), 403, "PERMISSION_DENIED");
  });

  it("rejects forged ids and needs a credential", async () => {
    expectError(await explain("auditor@acme.test", "x'%20OR%201=1"), 400, "INVALID_ARGUMENT");
    expectError(await explain("auditor@acme.test", "a".repeat(200)), 400, "INVALID_ARGUMENT");
    const anon = await a.api(null, "GET", `/api/v1/auditLogs/${aliceBefore.decisionId}:explain`);
    expect(anon.status).toBe(401);
  });
});

describe("GET /api/v1/{resource}:accessAt", () => {
  it("lists who could reach the app at a past time, through which group, and the record that added the binding", async () => {
    const r = await accessAtCall("auditor@acme.test", APP, timeAtR1);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.revision).toBe(r1.toString());
    expect(r.body.permission).toBe("iap.webServiceVersions.accessViaIAP");
    const byPrincipal = new Map(r.body.principals.map((p: { principal: string }) => [p.principal, p]));
    expect([...byPrincipal.keys()].sort()).toEqual(["user:alice@acme.test", "user:bob@acme.test", "user:carol@acme.test"]);
    const bob = byPrincipal.get("user:bob@acme.test") as { grantedBy: { member: string }; groupPath: string[]; addedBy: { insertId: string; actor: string; methodName: string } };
    expect(bob.grantedBy.member).toBe("group:eng@acme.test");
    expect(bob.groupPath).toEqual(["group:sre@acme.test", "group:eng@acme.test"]);
    // The admin-activity record that added group:eng to the app's policy: the stack's first apply.
    const record = await a.t.prisma.adminActivityLog.findUniqueOrThrow({ where: { insertId: bob.addedBy.insertId } });
    expect(record.resourceName).toBe(APP);
    expect(record.methodName).toBe("SetIamPolicy");
    expect(record.bindingDeltas).toEqual(expect.arrayContaining([expect.objectContaining({ action: "ADD", role: ACCESSOR, member: "group:eng@acme.test" })]));
    expect(bob.addedBy.actor).toBe(record.actor);
    // Mallory's binding needs the corp level: listed as a conditional binding, not as a principal.
    expect(r.body.bindings.some((b: { grantedBy: { member: string }; conditional: boolean }) => b.grantedBy.member === "user:mallory@acme.test" && b.conditional)).toBe(true);
  });

  it("at the later revision: alice gone, bob denied, carol disabled", async () => {
    const r = await accessAtCall("auditor@acme.test", APP, new Date().toISOString());
    expect(r.status).toBe(200);
    expect(r.body.revision).toBe(r2.toString());
    expect(r.body.principals).toEqual([]);
  });

  it("answers a time before history began without guessing", async () => {
    const r = await accessAtCall("owner@acme.test", APP, "2000-01-01T00:00:00Z");
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.revision).toBe("0");
    expect(r.body.principals).toEqual([]);
  });

  it("refuses another project's reader and an unknown resource alike; rejects malformed input", async () => {
    const forbidden = await accessAtCall("betaauditor@acme.test", APP, timeAtR1);
    expectError(forbidden, 403, "PERMISSION_DENIED", /or it may not exist/);
    const unknown = await accessAtCall("betaauditor@acme.test", "projects/alpha/iap_web/compute/services/nope", timeAtR1);
    expectError(unknown, 403, "PERMISSION_DENIED", /or it may not exist/);
    expectError(await accessAtCall("auditor@acme.test", APP, "yesterday"), 400, "INVALID_ARGUMENT");
    expectError(await a.api("auditor@acme.test", "GET", `/api/v1/${APP}:accessAt?time=${encodeURIComponent(timeAtR1)}&sql=1`), 400, "INVALID_ARGUMENT");
    expect((await accessAtCall("betaauditor@acme.test", BETA_APP, timeAtR1)).status).toBe(200);
  });
});

describe("before history began", () => {
  it("an explanation says so instead of guessing", async () => {
    await a.t.prisma.policyHistoryStart.update({ where: { id: 1 }, data: { revision: r2 } });
    try {
      const r = await explain("auditor@acme.test", aliceBefore.decisionId);
      expect(r.status).toBe(200);
      expect(r.body.historyAvailable).toBe(false);
      expect(r.body.decision).toBeUndefined();
      expect(r.body.matches).toBeNull();
      expect(r.body.notes[0]).toMatch(new RegExp(`begins at revision ${r2}.*cannot be re-evaluated`));
    } finally {
      await a.t.prisma.policyHistoryStart.update({ where: { id: 1 }, data: { revision: 0n } });
    }
  });

  it("a database without history (rows from before this version) gets a baseline from its next mutation", async () => {
    await a.t.prisma.$executeRaw`DELETE FROM "PolicyHistory"`;
    await a.t.prisma.$executeRaw`DELETE FROM "PolicyHistoryStart"`;
    const before = await engineAtHead();
    await createProxyKey({ db: a.t.prisma, actor: SYSTEM_CLI }, { name: "another", trusted: false });
    expect((await a.t.prisma.policyHistoryStart.findUniqueOrThrow({ where: { id: 1 } })).revision).toBe(before);
    const at = await snapshotAt(a.t.prisma, before, []);
    if (!at.ok) throw new Error("the baseline should cover its revision");
    expect(comparable(snapshotData(at.snapshot))).toEqual(comparable(snapshotData(seen.get(before)!)));
    expect((await snapshotAt(a.t.prisma, before - 1n, [])).ok).toBe(false);
  });
});
