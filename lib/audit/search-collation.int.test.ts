// The same reads give the same pages whether the database sorts text by code point (C: names and
// principals are enumerated by loose index scans and read one ordered scan each) or linguistically
// (an ICU database: no prefix is an index range, so reads keep to the filter) — the two ways
// listAuditLogs executes (lib/audit/search.ts).
import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrismaClient, type Db } from "@/lib/db/client";
import { applyMigrations } from "@/lib/db/migrate";
import type { AdminContext } from "@/lib/admin/context";
import { createTestDatabase, testDbInfo, type TestDatabase } from "@/lib/test/db";
import { withAdmin, withDatabase } from "@/lib/test/guard";
import { listAuditLogs, ZAuditListQuery } from "./search";

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);

/** Each row: [resourceName, principal, host]; the i-th is i minutes after T0. */
const ROWS: [string, string, string][] = [];
for (let i = 0; i < 30; i++) {
  ROWS.push([`projects/p${i % 3}/iap_web/compute/services/s${i % 5}`, i % 2 ? "user:alice@acme.test" : "serviceAccount:robot@acme.test", `app${i % 5}.acme.test`]);
}
ROWS.push(["hosts/stray.acme.test", "user:al@acme.test", "stray.acme.test"]);

async function fill(db: Db): Promise<string[]> {
  const ids: string[] = [];
  for (const [i, [resourceName, principal, host]] of ROWS.entries()) {
    const id = crypto.randomUUID();
    ids.push(id);
    await db.$executeRaw`INSERT INTO "DataAccessLog" ("decisionId", "timestamp", "principal", "resourceName", "permission", "granted", "reason", "host", "path", "method",
      "accessLevels", "unsatisfiedLevels", "revision", "latencyUs", "prevHash", "hash")
      VALUES (${id}, ${new Date(T0 + i * 60_000)}, ${principal}, ${resourceName}, 'iap.webServiceVersions.accessViaIAP', ${i % 4 !== 0}, ${i % 4 !== 0 ? "GRANTED" : "NO_MATCHING_BINDING"},
        ${host}, '/', 'GET', '{}', '{}', 1, 10, '', '')`;
  }
  return ids;
}

const databases: { name: string; db: Db; ids: string[]; drop: () => Promise<void> }[] = [];

beforeAll(async () => {
  const c: TestDatabase = await createTestDatabase();
  databases.push({ name: "C", db: c.prisma, ids: await fill(c.prisma), drop: () => c.drop() });
  const info = testDbInfo();
  const name = `${info.prefix}_icu_${process.pid}`;
  await withAdmin(info.adminUrl, (a) => a.query(`CREATE DATABASE ${a.escapeIdentifier(name)} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en' LOCALE 'C'`));
  const url = withDatabase(info.adminUrl, name);
  await applyMigrations(url);
  const icu = createPrismaClient(url);
  databases.push({
    name: "ICU",
    db: icu,
    ids: await fill(icu),
    drop: async () => {
      await icu.$disconnect();
      await withAdmin(info.adminUrl, (a) => a.query(`DROP DATABASE IF EXISTS ${a.escapeIdentifier(name)} WITH (FORCE)`));
    },
  });
}, 120_000);
afterAll(async () => {
  for (const d of databases) await d.drop();
});

/** Every entry for `query`, in pages of 4, following the tokens; asserts newest first and no entry twice. */
async function read(db: Db, query: Record<string, string>): Promise<string[]> {
  const ctx: AdminContext = { db, actor: { kind: "system", name: "system:test" }, instance: { authSecret: "test-only-secret-0123456789abcdef0123", publicUrl: "http://test.invalid" } };
  const out: { id: string; t: number }[] = [];
  let pageToken: string | undefined;
  do {
    const r = await listAuditLogs(ctx, ZAuditListQuery.parse({ stream: "data_access", pageSize: "4", ...query, ...(pageToken ? { pageToken } : {}) }));
    out.push(...r.entries.map((e) => ({ id: e.insertId, t: Date.parse(e.timestamp) })));
    pageToken = r.nextPageToken;
  } while (pageToken);
  expect(new Set(out.map((e) => e.id)).size).toBe(out.length);
  expect(out.map((e) => e.t)).toEqual(out.map((e) => e.t).sort((x, y) => y - x));
  return out.map((e) => e.id);
}

describe.each(["C", "ICU"])("a %s-collated database", (name) => {
  const d = () => databases.find((x) => x.name === name)!;
  const expected = (keep: (row: [string, string, string], i: number) => boolean) => d().ids.filter((_, i) => keep(ROWS[i]!, i)).reverse();

  it("sorts text as its name says (the premise of the two ways)", async () => {
    const [r] = await d().db.$queryRaw<{ linguistic: boolean }[]>`SELECT 'a' < 'B' AS linguistic`;
    expect(r!.linguistic).toBe(name === "ICU");
  });

  it("a resource and everything recorded below it", async () => {
    expect(await read(d().db, { resource: "projects/p1" })).toEqual(expected(([r]) => r.startsWith("projects/p1/")));
    expect(await read(d().db, { resource: "projects/p1", granted: "false" })).toEqual(expected(([r], i) => r.startsWith("projects/p1/") && i % 4 === 0));
    expect(await read(d().db, { resource: "projects/p9" })).toEqual([]);
  });

  it("q: the start of a principal (any case), of a resource name, of an unknown host; an insertId", async () => {
    expect(await read(d().db, { q: "AL" })).toEqual(expected(([, p]) => p.startsWith("user:al")));
    expect(await read(d().db, { q: "robot@" })).toEqual(expected(([, p]) => p.startsWith("serviceAccount:robot")));
    expect(await read(d().db, { q: "projects/p2/iap_web/compute/services/s4" })).toEqual(expected(([r]) => r === "projects/p2/iap_web/compute/services/s4"));
    expect(await read(d().db, { q: "stray" })).toEqual(expected(([r]) => r.startsWith("hosts/stray")));
    expect(await read(d().db, { q: d().ids[7]! })).toEqual([d().ids[7]]);
    expect(await read(d().db, { q: "lice" })).toEqual([]);
  });
});
