// The Audit API over HTTP against a real PostgreSQL: Cloud Audit Log shapes, scoping to the part
// of the hierarchy a reader holds the logging permission on (also through resource=, descendants,
// q and principal), keyset paging with tokens that cannot be forged or replayed elsewhere, the
// streamed exports, every refusal, and reads recorded as ListLogEntries.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encode } from "next-auth/jwt";
import { parse as parseCsv } from "csv-parse/sync";
import { startAdminStack, TEST_AUTH_SECRET, TEST_PUBLIC_URL, type AdminStack } from "@/lib/test/admin-stack";
import { issueIdTokenForPrincipal } from "@/lib/identity/id-token";
import type { DataAccessRecord } from "./decisions";
import { AUDIT_LOG_TYPE, CSV_COLUMNS } from "./entry";

const ORG = "organizations/1";
const A = "projects/a";
const B = "projects/b";
const APP_A = "projects/a/iap_web/compute/services/app";
const APP_B = "projects/b/iap_web/compute/services/app";

const WORLD = {
  organizations: [{ id: "1", displayName: "Acme", domain: "acme.test" }],
  projects: [
    { id: "a", number: "1001", parent: ORG },
    { id: "b", number: "1002", parent: ORG },
  ],
  resources: [
    { name: APP_A, iap: true, hosts: ["a.acme.test"] },
    { name: APP_B, iap: true, hosts: ["b.acme.test"] },
  ],
  users: ["owner", "auditor-a", "viewer-a", "nobody", "alice", "bob"].map((u) => ({ email: `${u}@acme.test` })),
  policies: [
    { resource: ORG, bindings: [{ role: "roles/owner", members: ["user:owner@acme.test"] }] },
    {
      resource: A,
      bindings: [
        { role: "roles/logging.privateLogViewer", members: ["user:auditor-a@acme.test"] },
        { role: "roles/logging.viewer", members: ["user:viewer-a@acme.test"] },
      ],
    },
  ],
};

let a: AdminStack;
/** decisionIds of the seeded decisions per project; c: a project the hierarchy does not know, with more names than one page merges; stray: a host no resource serves. */
const seeded = { a: [] as string[], b: [] as string[], c: [] as string[], stray: [] as string[] };
const C_NAMES = 30;
const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);

function decision(i: number, resourceName: string, principal: string, over: Partial<DataAccessRecord> = {}): DataAccessRecord {
  return {
    decisionId: randomUUID(),
    timestamp: new Date(T0 + i * 60_000),
    principal,
    resourceName,
    permission: "iap.webServiceVersions.accessViaIAP",
    granted: i % 4 !== 0,
    reason: i % 4 !== 0 ? "GRANTED" : "NO_MATCHING_BINDING",
    callerIp: "203.0.113.7",
    host: resourceName.startsWith(A) ? "a.acme.test" : "b.acme.test",
    path: `/doc/${i}`,
    method: "GET",
    accessLevels: [],
    unsatisfiedLevels: [],
    decidedBy: i % 4 !== 0 ? { resource: resourceName, role: "roles/iap.httpsResourceAccessor", member: principal } : null,
    revision: 3n,
    latencyUs: 50,
    proxyCredentialId: null,
    status: null,
    whatIfTime: null,
    regionCode: null, destination: null,
    ...over,
  };
}

async function list(who: string | null, query: Record<string, string>) {
  return a.api(who === null ? null : `${who}@acme.test`, "GET", `/api/v1/auditLogs?${new URLSearchParams(query).toString()}`);
}

/** A GET whose body is read as text (the exports). */
async function raw(who: string, path: string): Promise<Response> {
  const tok = (await issueIdTokenForPrincipal(a.t.prisma, a.stack.ctx.ring, { principal: `user:${who}@acme.test`, audience: TEST_PUBLIC_URL })).token;
  return fetch(`${a.base}${path}`, { headers: { authorization: `Bearer ${tok}` } });
}

/** Every entry of a listing, following nextPageToken. */
async function all(who: string, query: Record<string, string>) {
  const out: { insertId: string; resourceName: string; timestamp: string }[] = [];
  let token: string | undefined;
  for (let n = 0; n < 100; n++) {
    const r = await list(who, { ...query, ...(token ? { pageToken: token } : {}) });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    for (const e of r.body.entries) out.push({ insertId: e.insertId, resourceName: e.protoPayload.resourceName, timestamp: e.timestamp });
    token = r.body.nextPageToken;
    if (!token) return out;
  }
  throw new Error("too many pages");
}

const flush = () => a.stack.ctx.log.flush();

beforeAll(async () => {
  a = await startAdminStack(WORLD);
  const log = a.stack.ctx.log;
  for (let i = 0; i < 12; i++) {
    const d = decision(i, i % 3 === 0 ? A : APP_A, "user:alice@acme.test");
    seeded.a.push(d.decisionId);
    log.record(d);
  }
  // A decision about a resource the hierarchy does not know, under project a.
  const unknown = decision(12, "projects/a/iap_web/compute/services/gone", "user:alice@acme.test", { granted: false, reason: "UNKNOWN_RESOURCE" });
  seeded.a.push(unknown.decisionId);
  log.record(unknown);
  for (let i = 0; i < 7; i++) {
    const d = decision(100 + i, APP_B, "user:bob@acme.test");
    seeded.b.push(d.decisionId);
    log.record(d);
  }
  for (let i = 0; i < C_NAMES; i++) {
    const d = decision(300 + i, `projects/c/iap_web/compute/services/gone-${i}`, "user:carol@acme.test", { granted: true, reason: "GRANTED", host: "c.acme.test" });
    seeded.c.push(d.decisionId);
    log.record(d);
  }
  // As forward-auth records a request for a host no resource serves.
  const stray = decision(400, "hosts/stray.acme.test", "serviceAccount:hosts-bot@acme.test", { granted: false, reason: "UNKNOWN_RESOURCE", host: "stray.acme.test", decidedBy: null });
  seeded.stray.push(stray.decisionId);
  log.record(stray);
  await flush();
  // An admin-activity entry on project b.
  const p = await a.api("owner@acme.test", "POST", `/api/v1/${B}:getIamPolicy`, {});
  expect(p.status).toBe(200);
  const set = await a.api("owner@acme.test", "POST", `/api/v1/${B}:setIamPolicy`, { policy: { ...p.body, bindings: [{ role: "roles/viewer", members: ["user:bob@acme.test"] }] } });
  expect(set.status, JSON.stringify(set.body)).toBe(200);
}, 60_000);
afterAll(() => a?.stop());

describe("entries in the Cloud Audit Log shape", () => {
  it("a data-access entry is an AuthorizeUser AuditLog whose insertId is the decisionId", async () => {
    const r = await list("owner", { stream: "data_access", resource: APP_B, pageSize: "1" });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const e = r.body.entries[0];
    expect(seeded.b).toContain(e.insertId);
    expect(e).toMatchObject({
      logName: "projects/b/logs/cloudaudit.googleapis.com%2Fdata_access",
      severity: expect.any(String),
      resource: { type: "gce_backend_service", labels: { project_id: "b", backend_service_id: "app" } },
      protoPayload: {
        "@type": AUDIT_LOG_TYPE,
        serviceName: "iap.googleapis.com",
        methodName: "AuthorizeUser",
        resourceName: APP_B,
        authenticationInfo: { principalEmail: "bob@acme.test" },
        authorizationInfo: [{ resource: APP_B, permission: "iap.webServiceVersions.accessViaIAP", granted: expect.any(Boolean) }],
        requestMetadata: { callerIp: "203.0.113.7", requestAttributes: { method: "GET", host: "b.acme.test", path: expect.stringMatching(/^\/doc\//) } },
        metadata: { reason: expect.any(String), revision: "3" },
      },
    });
    expect(Date.parse(e.timestamp)).toBeGreaterThan(0);
  });

  it("an admin-activity entry carries Google's policyDelta binding deltas", async () => {
    const r = await list("owner", { stream: "admin_activity", resource: B, method: "SetIamPolicy" });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.entries).toHaveLength(1);
    expect(r.body.entries[0]).toMatchObject({
      logName: "projects/b/logs/cloudaudit.googleapis.com%2Factivity",
      protoPayload: {
        "@type": AUDIT_LOG_TYPE,
        methodName: "SetIamPolicy",
        resourceName: B,
        authenticationInfo: { principalEmail: "owner@acme.test" },
        serviceData: { "@type": "type.googleapis.com/google.iam.v1.logging.AuditData", policyDelta: { bindingDeltas: [{ action: "ADD", role: "roles/viewer", member: "user:bob@acme.test" }] } },
      },
    });
  });
});

describe("filters and paging", () => {
  it("pages newest first through everything exactly once; the last page has no token", async () => {
    const got = await all("owner", { stream: "data_access", pageSize: "2", method: "AuthorizeUser" });
    expect(got.map((e) => e.insertId).sort()).toEqual([...seeded.a, ...seeded.b, ...seeded.c, ...seeded.stray].sort());
    const first = await list("owner", { stream: "data_access", method: "AuthorizeUser", pageSize: "1000" });
    const times = first.body.entries.map((e: { timestamp: string }) => Date.parse(e.timestamp));
    expect(times).toEqual([...times].sort((x, y) => y - x));
    expect(first.body.nextPageToken).toBeUndefined();
  });

  it("filters by resource with its descendants, principal, granted, reason, permission, time and text", async () => {
    const ids = async (q: Record<string, string>) => (await all("owner", { stream: "data_access", method: "AuthorizeUser", ...q })).map((e) => e.insertId).sort();
    expect(await ids({ resource: A })).toEqual([...seeded.a].sort());
    expect(await ids({ resource: ORG })).toEqual([...seeded.a, ...seeded.b].sort());
    expect(await ids({ principal: "user:bob@acme.test" })).toEqual([...seeded.b].sort());
    expect(await ids({ principal: "bob@acme.test" })).toEqual([...seeded.b].sort());
    expect((await ids({ granted: "false" })).length).toBe(3 + 1 + 2 + 1);
    expect(await ids({ reason: "UNKNOWN_RESOURCE" })).toEqual([seeded.a[12], seeded.stray[0]].sort());
    expect(await ids({ permission: "iap.tunnelInstances.accessViaIAP" })).toEqual([]);
    expect(await ids({ startTime: new Date(T0 + 100 * 60_000).toISOString(), endTime: new Date(T0 + 102 * 60_000).toISOString() })).toEqual([seeded.b[0], seeded.b[1]].sort());
    expect(await ids({ q: "B.ACME" })).toEqual([...seeded.b].sort());
    expect(await ids({ q: seeded.a[3]! })).toEqual([seeded.a[3]]);
  });
});

/** Asserts a listing is newest first with no entry twice, and gives its insertIds sorted. */
function once(got: { insertId: string; timestamp: string }[]): string[] {
  const ids = got.map((e) => e.insertId);
  expect(new Set(ids).size).toBe(ids.length);
  const times = got.map((e) => Date.parse(e.timestamp));
  expect(times).toEqual([...times].sort((x, y) => y - x));
  return ids.sort();
}

describe("q: an insertId, or the start of a principal, a resource name or a host", () => {
  const ids = async (q: string, who = "owner", more: Record<string, string> = {}) => once(await all(who, { stream: "data_access", method: "AuthorizeUser", pageSize: "3", q, ...more }));

  it("matches the start of an email or member string (any case), of a resource name, of an application's host", async () => {
    expect(await ids("ali")).toEqual([...seeded.a].sort());
    expect(await ids("ALICE@Acme")).toEqual([...seeded.a].sort());
    expect(await ids("user:bob")).toEqual([...seeded.b].sort());
    expect(await ids("projects/b")).toEqual([...seeded.b].sort());
    expect(await ids("projects/a/iap_web/compute/services/go")).toEqual([seeded.a[12]]);
    expect(await ids("b.acme")).toEqual([...seeded.b].sort());
    // A host no resource serves: recorded under hosts/<host>.
    expect(await ids("stray.acme")).toEqual(seeded.stray);
  });

  it("is not a substring search, and not of paths", async () => {
    expect(await ids("lice@acme.test")).toEqual([]);
    expect(await ids("acme.test")).toEqual([]);
    expect(await ids("/doc/3")).toEqual([]);
    expect(await ids(seeded.a[3]!.slice(0, 8))).toEqual([]);
    // LIKE's wildcards and escape are text like any other.
    for (const q of ["%", "_", "%alice", "\\", "user:%"]) expect(await ids(q), q).toEqual([]);
  });

  it("a record matched twice (principal and resource name) is listed once", async () => {
    // serviceAccount:hosts-bot… and hosts/stray… both start with "hosts".
    expect(await ids("hosts")).toEqual(seeded.stray);
  });

  it("combines with the other filters and the reader's scope", async () => {
    expect(await ids("alice", "owner", { resource: APP_A })).toEqual(seeded.a.filter((_, i) => i < 12 && i % 3 !== 0).sort());
    expect(await ids("alice", "owner", { granted: "false" })).toEqual(seeded.a.filter((_, i) => i % 4 === 0).sort());
    expect(await ids("alice", "auditor-a")).toEqual([...seeded.a].sort());
    expect(await ids("bob", "auditor-a")).toEqual([]);
    expect(await ids("hosts", "auditor-a")).toEqual([]);
  });
});

describe("resources with more recorded names than one page merges (read as a filter instead)", () => {
  const ids = async (who: string, q: Record<string, string>) => once(await all(who, { stream: "data_access", method: "AuthorizeUser", pageSize: "7", ...q }));

  it("pages through an unknown project's many names exactly once, newest first", async () => {
    expect(await ids("owner", { resource: "projects/c" })).toEqual([...seeded.c].sort());
    expect(await ids("owner", { q: "projects/c/" })).toEqual([...seeded.c].sort());
    expect(await ids("owner", { q: "carol", resource: "projects/c" })).toEqual([...seeded.c].sort());
    // gone-1 and gone-10…19: few enough to merge.
    expect(await ids("owner", { q: "projects/c/iap_web/compute/services/gone-1" })).toEqual(seeded.c.filter((_, i) => String(i).startsWith("1")).sort());
    expect(await ids("auditor-a", { q: "projects/c/" })).toEqual([]);
  });

  it("a scoped reader pages through their project in small pages, merged per name", async () => {
    expect(await ids("auditor-a", {})).toEqual([...seeded.a].sort());
    expect(await ids("auditor-a", { resource: A, granted: "true" })).toEqual(seeded.a.filter((_, i) => i % 4 !== 0).sort());
  });
});

describe("scoped to where the reader holds the permission", () => {
  it("a private-log reader on project a sees a's entries only — also unknown resources under a", async () => {
    const got = await all("auditor-a", { stream: "data_access", method: "AuthorizeUser" });
    expect(got.map((e) => e.insertId).sort()).toEqual([...seeded.a].sort());
  });

  it("…and nothing of b: not by resource (b, below b, the organization), principal or text", async () => {
    for (const resource of [B, APP_B, "projects/b/iap_web/compute/services/gone", ORG, "projects/nope"]) {
      const r = await list("auditor-a", { stream: "data_access", resource });
      expect(r.status, resource).toBe(403);
      expect(r.body.error.code).toBe("PERMISSION_DENIED");
    }
    expect((await list("auditor-a", { stream: "data_access", principal: "user:bob@acme.test" })).body.entries).toEqual([]);
    expect((await list("auditor-a", { stream: "data_access", q: "b.acme" })).body.entries).toEqual([]);
    expect((await list("auditor-a", { stream: "data_access", q: seeded.b[0]! })).body.entries).toEqual([]);
    const descendants = await all("auditor-a", { stream: "data_access", resource: A, method: "AuthorizeUser" });
    expect(descendants.every((e) => e.resourceName.startsWith("projects/a"))).toBe(true);
  });

  it("a Logs Viewer reads admin activity of its project only, and no data access", async () => {
    expect((await list("viewer-a", { stream: "data_access" })).status).toBe(403);
    const got = await all("viewer-a", { stream: "admin_activity" });
    expect(got.length).toBeGreaterThan(0);
    expect(got.every((e) => e.resourceName === A || e.resourceName.startsWith("projects/a/"))).toBe(true);
    expect((await all("owner", { stream: "admin_activity", resource: B })).length).toBeGreaterThan(0);
  });

  it("nobody with no logging role is refused (403); no credential is 401", async () => {
    expect(await list("nobody", { stream: "admin_activity" })).toMatchObject({ status: 403, body: { error: { code: "PERMISSION_DENIED" } } });
    expect(await list(null, { stream: "admin_activity" })).toMatchObject({ status: 401, body: { error: { code: "UNAUTHENTICATED" } } });
    expect((await a.api(null, "GET", "/api/v1/auditLogs:export?stream=data_access")).status).toBe(401);
  });
});

describe("malformed and forged input", () => {
  it("is INVALID_ARGUMENT: pageSize out of range, bad times, unknown stream or parameter, filters a stream lacks", async () => {
    for (const q of [
      { stream: "data_access", pageSize: "1001" },
      { stream: "data_access", pageSize: "0" },
      { stream: "data_access", pageSize: "ten" },
      { stream: "data_access", startTime: "yesterday" },
      { stream: "data_access", endTime: "2026-13-01T00:00:00Z" },
      { stream: "data_access", startTime: "2026-12-02T00:00:00Z", endTime: "2026-12-01T00:00:00Z" },
      { stream: "everything" },
      {},
      { stream: "data_access", limit: "5" },
      { stream: "admin_activity", granted: "true" },
      { stream: "data_access", granted: "maybe" },
      { stream: "data_access", reason: "BECAUSE" },
      { stream: "data_access", q: "x".repeat(257) },
      { stream: "data_access", method: "Set'IamPolicy" },
    ]) {
      const r = await list("owner", q as Record<string, string>);
      expect(r.status, JSON.stringify(q)).toBe(400);
      expect(r.body.error.code).toBe("INVALID_ARGUMENT");
    }
  });

  it("a page token that was forged, edited, or issued for other filters is refused", async () => {
    const first = await list("auditor-a", { stream: "data_access", pageSize: "2" });
    const token: string = first.body.nextPageToken;
    expect(token).toBeTruthy();
    const [payload, sig] = token.split(".");
    const edited = JSON.parse(Buffer.from(payload!, "base64url").toString()) as { s: string };
    edited.s = "999999999";
    const forged = [
      "garbage",
      Buffer.from(JSON.stringify({ k: "1" })).toString("base64url"),
      `${Buffer.from(JSON.stringify(edited)).toString("base64url")}.${sig}`,
      `${payload}.${sig!.slice(0, -2)}AA`,
      `${payload}.${sig}.x`,
    ];
    for (const pageToken of forged) expect((await list("auditor-a", { stream: "data_access", pageSize: "2", pageToken })).status, pageToken).toBe(400);
    // The same token with other filters (a wider resource): refused, not widened.
    expect((await list("auditor-a", { stream: "data_access", pageSize: "2", pageToken: token, resource: A })).status).toBe(400);
    expect((await list("auditor-a", { stream: "data_access", pageSize: "2", pageToken: token })).status).toBe(200);
  });

  it("the console's cookie is refused from another site, accepted from the console", async () => {
    await a.t.prisma.user.upsert({ where: { email: "owner@acme.test" }, create: { email: "owner@acme.test" }, update: {} });
    const cookie = `authjs.session-token=${await encode({ token: { email: "owner@acme.test", authAt: Date.now(), via: "oidc" }, secret: TEST_AUTH_SECRET, salt: "authjs.session-token", maxAge: 600 })}`;
    const get = (headers: Record<string, string>) => fetch(`${a.base}/api/v1/auditLogs?stream=data_access&pageSize=1`, { headers: { cookie, ...headers } });
    expect((await get({ origin: TEST_PUBLIC_URL })).status).toBe(200);
    expect((await get({ "sec-fetch-site": "same-origin" })).status).toBe(200);
    expect((await get({ origin: "https://evil.example" })).status).toBe(403);
    expect((await get({ "sec-fetch-site": "cross-site" })).status).toBe(403);
    const exp = await fetch(`${a.base}/api/v1/auditLogs:export?stream=data_access`, { headers: { cookie, "sec-fetch-site": "cross-site" } });
    expect(exp.status).toBe(403);
  });
});

describe("exports", () => {
  it("NDJSON: every line one Cloud Audit Log entry, exactly the listing's entries, scoped like it", async () => {
    const res = await raw("auditor-a", "/api/v1/auditLogs:export?stream=data_access&method=AuthorizeUser&format=ndjson");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/ndjson/);
    const lines = (await res.text()).split("\n").filter(Boolean);
    const entries = lines.map((l) => JSON.parse(l) as { insertId: string; protoPayload: { "@type": string; methodName: string } });
    expect(entries.every((e) => e.protoPayload["@type"] === AUDIT_LOG_TYPE && e.protoPayload.methodName === "AuthorizeUser")).toBe(true);
    expect(entries.map((e) => e.insertId).sort()).toEqual([...seeded.a].sort());
  });

  it("CSV: a header and one row per entry, quoted by the library (commas, quotes and newlines survive)", async () => {
    const odd = decision(201, APP_B, "user:bob@acme.test", { path: '/a,"b"\nc' });
    a.stack.ctx.log.record(odd);
    await flush();
    const res = await raw("owner", "/api/v1/auditLogs:export?stream=data_access&method=AuthorizeUser&resource=projects/b&format=csv");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/csv/);
    const rows = parseCsv(await res.text(), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual([...CSV_COLUMNS]);
    expect(rows.map((r) => r.insertId).sort()).toEqual([...seeded.b, odd.decisionId].sort());
    expect(rows.find((r) => r.insertId === odd.decisionId)).toMatchObject({ path: '/a,"b"\nc', methodName: "AuthorizeUser", principal: "user:bob@acme.test", granted: "true" });
  });

  it("refuses what the listing refuses", async () => {
    expect((await raw("auditor-a", "/api/v1/auditLogs:export?stream=data_access&resource=projects/b")).status).toBe(403);
    expect((await raw("owner", "/api/v1/auditLogs:export?stream=data_access&format=xml")).status).toBe(400);
    expect((await raw("owner", "/api/v1/auditLogs:export?stream=data_access&pageSize=5")).status).toBe(400);
  });
});

describe("reading the logs is itself recorded", () => {
  it("each read, granted or refused, is a ListLogEntries data-access entry of the reader", async () => {
    await list("auditor-a", { stream: "data_access", resource: APP_A });
    await list("nobody", { stream: "data_access" });
    await flush();
    const reads = (await list("owner", { stream: "data_access", method: "ListLogEntries", pageSize: "1000" })).body.entries as {
      protoPayload: { methodName: string; serviceName: string; resourceName: string; authenticationInfo: { principalEmail: string }; authorizationInfo: { permission: string; granted: boolean }[] };
    }[];
    const mine = reads.find((e) => e.protoPayload.authenticationInfo.principalEmail === "auditor-a@acme.test" && e.protoPayload.resourceName === APP_A);
    expect(mine?.protoPayload).toMatchObject({ methodName: "ListLogEntries", serviceName: "logging.googleapis.com", authorizationInfo: [{ permission: "logging.privateLogEntries.list", granted: true }] });
    const refused = reads.find((e) => e.protoPayload.authenticationInfo.principalEmail === "nobody@acme.test");
    expect(refused?.protoPayload.authorizationInfo[0]!.granted).toBe(false);
    // The project's own auditor sees reads of their project's logs.
    const own = (await list("auditor-a", { stream: "data_access", method: "ListLogEntries", resource: APP_A })).body.entries;
    expect(own.length).toBeGreaterThan(0);
  });
});
