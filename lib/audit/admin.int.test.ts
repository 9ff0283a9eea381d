// recordAdminActivity writes its records in one statement (json-rows.ts) where it once created
// them one by one through Prisma. The chain's definition did not change: records written the old
// way and the new way, interleaved, verify as one chain, and the same entry is stored the same
// way by both.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Prisma } from "@/lib/generated/prisma/client";
import { createTestDatabase, type TestDatabase } from "@/lib/test/db";
import { hashedAdminFields, recordAdminActivity, type AdminActivity } from "./admin";
import { chainHash } from "./chain";
import { verifyAdminActivity } from "./verify";

/** The previous implementation, verbatim but for its name: one Prisma create per record. */
async function recordOneByOne(tx: Prisma.TransactionClient, entries: AdminActivity[]): Promise<void> {
  if (entries.length === 0) return;
  await tx.$executeRaw`INSERT INTO "AuditChainHead" (stream) VALUES ('admin_activity') ON CONFLICT DO NOTHING`;
  const [head] = await tx.$queryRaw<{ lastHash: string }[]>`SELECT "lastHash" FROM "AuditChainHead" WHERE stream = 'admin_activity' FOR UPDATE`;
  let prevHash = head?.lastHash ?? "";
  const timestamp = new Date();
  for (const e of entries) {
    const row = {
      insertId: crypto.randomUUID(),
      timestamp,
      actor: e.actor,
      methodName: e.methodName,
      serviceName: e.serviceName,
      resourceName: e.resourceName,
      bindingDeltas: (e.bindingDeltas ?? null) as unknown,
      request: (e.request ?? null) as unknown,
      response: (e.response ?? null) as unknown,
      callerIp: e.callerIp ?? null,
      userAgent: e.userAgent ?? null,
      revision: e.revision ?? null,
    };
    const hash = chainHash(prevHash, hashedAdminFields(row));
    await tx.adminActivityLog.create({
      data: {
        ...row,
        bindingDeltas: (e.bindingDeltas ?? undefined) as Prisma.InputJsonValue | undefined,
        request: e.request,
        response: e.response,
        prevHash,
        hash,
      },
    });
    prevHash = hash;
  }
  // (Since heads count their records, the old way keeps them counted too.)
  await tx.$executeRaw`UPDATE "AuditChainHead" SET "lastHash" = ${prevHash}, "lastSeq" = (SELECT max(seq) FROM "AdminActivityLog"), "recordCount" = "recordCount" + ${entries.length} WHERE stream = 'admin_activity'`;
}

const ENTRIES: AdminActivity[] = [
  {
    actor: "alice@example.com",
    methodName: "SetIamPolicy",
    serviceName: "cloudresourcemanager.googleapis.com",
    resourceName: "projects/demo",
    bindingDeltas: [
      { action: "ADD", role: "roles/viewer", member: "user:bob@example.com" },
      { action: "REMOVE", role: "roles/iap.httpsResourceAccessor", member: "group:eng@example.com", condition: { title: "Not admin", expression: "!request.path.startsWith('/admin')" } },
    ],
    request: { policy: { bindings: [{ role: "roles/viewer", members: ["user:bob@example.com"] }], etag: "AAAAAAAAAAE=", version: 1 }, unicode: "é — \u2028 \"quoted\" \\ back", n: 1.5, list: [] },
    response: { ok: true, nested: { a: null, z: [1, "2", { b: false }] } },
    callerIp: "203.0.113.7",
    userAgent: "curl/8",
    revision: 41n,
  },
  { actor: "system:cli", methodName: "CreateUser", serviceName: "admin.googleapis.com", resourceName: "users/carol@example.com" },
  { actor: "system:seed", methodName: "DeleteGroup", serviceName: "cloudidentity.googleapis.com", resourceName: "groups/x@example.com", bindingDeltas: [], request: { before: { email: "x@example.com" }, after: null }, revision: 7n },
];

describe("admin-activity records", () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t.drop());

  it("written the old way and the new way, interleaved, verify as one chain and are stored alike", async () => {
    await t.prisma.$transaction((tx) => recordOneByOne(tx, ENTRIES));
    await t.prisma.$transaction((tx) => recordAdminActivity(tx, ENTRIES));
    await t.prisma.$transaction((tx) => recordOneByOne(tx, ENTRIES.slice(0, 1)));
    await t.prisma.$transaction((tx) => recordAdminActivity(tx, [...ENTRIES].reverse()));
    expect(await verifyAdminActivity(t.prisma)).toEqual({ stream: "admin_activity", records: 10, ok: true, checkpoints: 0, unkeyed: 0 });

    const rows = await t.prisma.adminActivityLog.findMany({ orderBy: { seq: "asc" } });
    // What a record holds does not depend on how it was inserted.
    const content = (r: (typeof rows)[number]) => ({ ...r, seq: undefined, insertId: undefined, timestamp: undefined, prevHash: undefined, hash: undefined });
    for (let i = 0; i < ENTRIES.length; i++) expect(content(rows[ENTRIES.length + i]!)).toEqual(content(rows[i]!));
    expect(content(rows[9]!)).toEqual(content(rows[0]!));
    // Absent JSON values are SQL NULL both ways (not JSON null).
    const nulls = await t.prisma.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM "AdminActivityLog" WHERE "bindingDeltas" IS NULL AND request IS NULL AND response IS NULL`;
    expect(nulls[0]!.n).toBe(3n);
    // Each batch shares one timestamp, kept to the millisecond, and the chain links in seq order.
    expect(new Set(rows.slice(3, 6).map((r) => r.timestamp.getTime())).size).toBe(1);
    rows.slice(1).forEach((r, i) => expect(r.prevHash).toBe(rows[i]!.hash));
  });

  it("a record tampered with after a bulk write is found", async () => {
    const victim = await t.prisma.adminActivityLog.findFirstOrThrow({ where: { seq: { gt: 3n } }, orderBy: { seq: "asc" } });
    await t.prisma.adminActivityLog.update({ where: { seq: victim.seq }, data: { request: { policy: { bindings: [] } } } });
    expect(await verifyAdminActivity(t.prisma)).toMatchObject({ ok: false, firstBroken: { seq: victim.seq, reason: expect.stringMatching(/modified/) } });
  });
});
