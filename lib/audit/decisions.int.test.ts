// The decision log against a real PostgreSQL: what it writes is what it was given (as far as
// PostgreSQL text can hold it), in order, hash-chained; a spool of any size drains in order,
// also while new decisions keep arriving; unreadable spool lines are counted, not fatal.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createTestDatabase, type TestDatabase } from "@/lib/test/db";
import { BATCH_SIZE, DecisionLog, type DataAccessRecord } from "./decisions";
import { verifyDataAccess } from "./verify";

let t: TestDatabase;
let spoolDir: string;
let log: DecisionLog;

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.drop());
afterEach(async () => {
  vi.restoreAllMocks();
  await unblockDatabase();
  await log?.stop();
  fs.rmSync(spoolDir, { recursive: true, force: true });
  await t.prisma.$executeRawUnsafe(`TRUNCATE "DataAccessLog"; DELETE FROM "AuditChainHead"`);
});

function newLog(report?: (m: string) => void): DecisionLog {
  spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), "gh-log-"));
  log = new DecisionLog({ databaseUrl: t.url, spoolDir, ...(report ? { log: report } : {}) });
  return log;
}

/** Every insert into the log fails, as with an unreachable database. */
async function blockDatabase(): Promise<void> {
  await t.prisma.$executeRawUnsafe(`CREATE OR REPLACE FUNCTION gh_block() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'database unavailable'; END $$ LANGUAGE plpgsql`);
  await t.prisma.$executeRawUnsafe(`CREATE TRIGGER gh_block BEFORE INSERT ON "DataAccessLog" FOR EACH STATEMENT EXECUTE FUNCTION gh_block()`);
}
async function unblockDatabase(): Promise<void> {
  await t.prisma.$executeRawUnsafe(`DROP TRIGGER IF EXISTS gh_block ON "DataAccessLog"`);
}

/**
 * A full disk under the spool: every write to a file in the spool directory fails with ENOSPC
 * after writing half of what it was given (as a real full disk cuts an append short). Root
 * ignores permissions, so a read-only directory would not do.
 */
function fillDisk(): { free(): void } {
  const real = fs.writeSync.bind(fs) as (fd: number, data: string) => number;
  const spy = vi.spyOn(fs, "writeSync").mockImplementation(((fd: number, data: string) => {
    if (typeof data === "string" && fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(spoolDir)) {
      real(fd, data.slice(0, Math.floor(data.length / 2)));
      throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    }
    return real(fd, data);
  }) as typeof fs.writeSync);
  return { free: () => spy.mockRestore() };
}

function rec(i: number, over: Partial<DataAccessRecord> = {}): DataAccessRecord {
  return {
    decisionId: randomUUID(),
    timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, i)),
    principal: `user:u${i}@example.com`,
    resourceName: "projects/demo/iap_web/compute/services/web",
    permission: "iap.webServiceVersions.accessViaIAP",
    granted: i % 3 !== 0,
    reason: i % 3 !== 0 ? "GRANTED" : "NO_MATCHING_BINDING",
    callerIp: "10.1.2.3",
    host: "web.example.test",
    path: `/items/${i}`,
    method: "GET",
    accessLevels: i % 2 ? ["accessPolicies/1/accessLevels/corp"] : [],
    unsatisfiedLevels: [],
    decidedBy: i % 3 !== 0 ? { resource: "projects/demo", role: "roles/iap.httpsResourceAccessor", member: "group:eng@example.com", condition: "Not admin" } : null,
    revision: 7n,
    latencyUs: 40 + i,
    proxyCredentialId: null,
    status: i % 3 !== 0 ? null : { code: 7, message: "NO_MATCHING_BINDING" },
    // Some what-if records, so that spool round trips and chain verification cover the field.
    whatIfTime: i % 5 === 0 ? new Date(Date.UTC(2025, 5, 1, 12, 0, 0, i)) : null,
    regionCode: i % 4 === 0 ? "DE" : null,
    destination: i % 7 === 0 ? { ip: "10.1.0.5", port: 22 } : null,
    ...over,
  };
}

async function stored(): Promise<string[]> {
  return (await t.prisma.dataAccessLog.findMany({ orderBy: { seq: "asc" }, select: { decisionId: true } })).map((r) => r.decisionId);
}

const spoolFile = () => path.join(spoolDir, "data-access.ndjson");
const spoolLine = (r: DataAccessRecord) => JSON.stringify(r, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));

describe("DecisionLog", () => {
  it("writes records as given, in order, on a verifiable chain", async () => {
    const l = newLog();
    const records = Array.from({ length: 2 * BATCH_SIZE + 7 }, (_, i) => rec(i));
    for (const r of records) l.record(r);
    await l.flush();
    expect(await stored()).toEqual(records.map((r) => r.decisionId));
    const row = await t.prisma.dataAccessLog.findUniqueOrThrow({ where: { decisionId: records[1]!.decisionId } });
    expect(row).toMatchObject({ principal: "user:u1@example.com", path: "/items/1", granted: true, revision: 7n, latencyUs: 41, accessLevels: ["accessPolicies/1/accessLevels/corp"] });
    expect(row.timestamp.toISOString()).toBe("2026-01-01T00:00:00.001Z");
    expect(row.decidedBy).toEqual(records[1]!.decidedBy);
    expect(await verifyDataAccess(t.prisma)).toMatchObject({ ok: true, records: records.length });
  });

  it("stores request text PostgreSQL cannot hold (NUL, lone surrogates) with U+FFFD instead of failing the batch", async () => {
    const l = newLog();
    const odd = rec(1, { path: "/a\u0000b\ud800c", host: "x\udfff.example.test", resourceName: "hosts/x\u0000y" });
    const emoji = rec(2, { path: "/caf\u00e9/\ud83d\ude00" });
    l.record(rec(0));
    l.record(odd);
    l.record(emoji);
    await l.flush();
    expect(l.getStats()).toMatchObject({ written: 3, spooled: 0, lastError: null });
    const rows = await t.prisma.dataAccessLog.findMany({ orderBy: { seq: "asc" } });
    expect(rows.map((r) => r.path)).toEqual(["/items/0", "/a\ufffdb\ufffdc", "/caf\u00e9/\ud83d\ude00"]);
    expect(rows[1]).toMatchObject({ host: "x\ufffd.example.test", resourceName: "hosts/x\ufffdy" });
    expect(await verifyDataAccess(t.prisma)).toMatchObject({ ok: true, records: 3 });
  });


  it("stores what COPY's text format must escape exactly as recorded (tabs, newlines, backslashes, quotes, \\N)", async () => {
    const l = newLog();
    const odd = rec(1, {
      path: "/a\tb\nc\rd\\e\\N\\\\t",
      host: "\\N",
      principal: "user:o'brien\\@example.com",
      accessLevels: ['accessPolicies/1/accessLevels/"q"', "accessPolicies/1/accessLevels/b\\s,{x}", "\\N"],
      unsatisfiedLevels: ["NULL"],
      decidedBy: { resource: "projects/demo", role: "roles/x", member: "user:a\tb\n\\c\"@example.com", condition: "\\N" },
      status: { code: 7, message: "tab\there\\n" },
    });
    l.record(odd);
    l.record(rec(2, { path: "", host: null, callerIp: null, accessLevels: [""] }));
    await l.flush();
    expect(l.getStats()).toMatchObject({ written: 2, lastError: null });
    const rows = await t.prisma.dataAccessLog.findMany({ orderBy: { seq: "asc" } });
    expect(rows[0]).toMatchObject({
      path: odd.path,
      host: odd.host,
      principal: odd.principal,
      accessLevels: odd.accessLevels,
      unsatisfiedLevels: ["NULL"],
      decidedBy: odd.decidedBy,
      status: odd.status,
    });
    expect(rows[1]).toMatchObject({ path: "", host: null, callerIp: null, accessLevels: [""] });
    expect(await verifyDataAccess(t.prisma)).toMatchObject({ ok: true, records: 2 });
  });
  it("drains a large spool in order over several flushes, new records behind it; unreadable lines are counted", async () => {
    const l = newLog();
    // A spool left by an outage: 12,000 records, one line that does not parse (an append cut
    // short by a crash, later ended by the next append) and an unfinished last line.
    const spooled = Array.from({ length: 12_000 }, (_, i) => rec(i));
    const lines = spooled.map(spoolLine);
    lines.splice(5000, 0, '{"decisionId":"cut-sho');
    fs.writeFileSync(spoolFile(), lines.join("\n") + "\n" + spoolLine(rec(99_999)).slice(0, 40));

    const later = Array.from({ length: 10 }, (_, i) => rec(20_000 + i));
    let flushes = 0;
    for (const r of later) l.record(r);
    while (fs.existsSync(spoolFile()) && flushes < 20) {
      await l.flush();
      flushes++;
    }
    expect(flushes).toBeGreaterThan(1); // bounded work per flush
    expect(fs.existsSync(spoolFile())).toBe(false);
    expect(await stored()).toEqual([...spooled, ...later].map((r) => r.decisionId));
    expect(l.getStats()).toMatchObject({ dropped: 2, pending: 0 });
    expect(await verifyDataAccess(t.prisma)).toMatchObject({ ok: true, records: spooled.length + later.length });
  });

  it("a spooled record PostgreSQL cannot hold as written is made storable when it drains", async () => {
    const l = newLog();
    const odd = rec(1, { path: "/a\u0000b" });
    fs.writeFileSync(spoolFile(), [rec(0), odd, rec(2)].map(spoolLine).join("\n") + "\n");
    await l.flush();
    expect(fs.existsSync(spoolFile())).toBe(false);
    expect((await t.prisma.dataAccessLog.findMany({ orderBy: { seq: "asc" } })).map((r) => r.path)).toEqual(["/items/0", "/a\ufffdb", "/items/2"]);
  });

  it("with the database down and the disk full it keeps every record, refuses (accepting false), says so, and recovers", async () => {
    const reports: string[] = [];
    const l = newLog((m) => reports.push(m));
    await blockDatabase();
    const disk = fillDisk();
    const records = Array.from({ length: 7 }, (_, i) => rec(i));
    for (const r of records) l.record(r);
    await l.flush();
    expect(l.accepting()).toBe(false);
    expect(l.getStats()).toMatchObject({ pending: 7, spooled: 0, dropped: 0, spoolFailing: true });
    expect(reports.join("\n")).toMatch(/cannot write the audit spool .*ENOSPC.*decisions fail closed \(503\)/);
    // The half-written append was cut back: no partial record is left to be counted as lost.
    expect(fs.existsSync(spoolFile()) ? fs.readFileSync(spoolFile(), "utf8") : "").toBe("");
    await l.flush(); // still full: nothing changes, nothing is lost
    expect(l.getStats()).toMatchObject({ pending: 7, spoolFailing: true });

    disk.free();
    await l.flush();
    expect(l.accepting()).toBe(true);
    expect(l.getStats()).toMatchObject({ pending: 0, spooled: 7, dropped: 0, spoolFailing: false });
    expect(reports.at(-1)).toMatch(/can be written again/);
    await unblockDatabase();
    await l.flush();
    expect(await stored()).toEqual(records.map((r) => r.decisionId));
    expect(l.getStats()).toMatchObject({ written: 7, dropped: 0 });
    expect(await verifyDataAccess(t.prisma)).toMatchObject({ ok: true, records: 7 });
  });

  it("with the disk full, the database coming back is enough to resume", async () => {
    const l = newLog(() => {});
    await blockDatabase();
    fillDisk();
    const records = Array.from({ length: 3 }, (_, i) => rec(i));
    for (const r of records) l.record(r);
    await l.flush();
    expect(l.accepting()).toBe(false);
    await unblockDatabase();
    await l.flush();
    expect(l.accepting()).toBe(true);
    expect(await stored()).toEqual(records.map((r) => r.decisionId));
  });

  it("a flush asked for while one runs also writes what was recorded after that one began", async () => {
    const l = newLog();
    l.record(rec(0));
    const first = l.flush();
    l.record(rec(1));
    await l.flush();
    await first;
    expect((await stored()).length).toBe(2);
  });

  it("after stop, a late record (a request still in flight) is spooled at once, not lost", async () => {
    const l = newLog();
    await l.stop();
    const late = rec(5);
    l.record(late);
    expect(fs.readFileSync(spoolFile(), "utf8")).toContain(late.decisionId);
    expect(l.getStats()).toMatchObject({ pending: 0, spooled: 1, dropped: 0 });
  });

  it("a spool drained again after a crash mid-drain writes each record once", async () => {
    const records = Array.from({ length: 600 }, (_, i) => rec(i));
    const first = newLog();
    for (const r of records.slice(0, 250)) first.record(r);
    await first.flush(); // these reached the database…
    await first.stop();
    // …and the process died before it removed the spool that held them too.
    fs.writeFileSync(spoolFile(), records.map(spoolLine).join("\n") + "\n");
    log = new DecisionLog({ databaseUrl: t.url, spoolDir });
    await log.flush();
    expect(await stored()).toEqual(records.map((r) => r.decisionId));
    expect(await verifyDataAccess(t.prisma)).toMatchObject({ ok: true, records: 600 });
  });
});
