// Retention against a real PostgreSQL: a purge removes the oldest prefix of a chain, checkpoints
// the boundary first (outside the database) and leaves what remains verifiable from it; it never
// launders a tampered record into its anchor. `audit verify` and `audit purge` as a real CLI process.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@/lib/test/db";
import { recordAdminActivity } from "./admin";
import { CheckpointWriter, parseCheckpoints } from "./checkpoints";
import { DecisionLog, type DataAccessRecord } from "./decisions";
import { purgeStream } from "./retention";
import { verifyAdminActivity, verifyDataAccess } from "./verify";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");
const DAY = 86_400_000;

let t: TestDatabase;
let dir: string;
let file: string;
const sink = () => ({ file, log: () => {} });

beforeAll(async () => {
  t = await createTestDatabase();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "gh-retention-"));
});
afterAll(async () => {
  await t.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await t.prisma.$executeRawUnsafe(`TRUNCATE "DataAccessLog", "AdminActivityLog"; DELETE FROM "AuditChainHead"`);
  file = path.join(dir, "audit", `checkpoints-${randomUUID()}.ndjson`);
});

function rec(timestamp: Date): DataAccessRecord {
  return {
    decisionId: randomUUID(),
    timestamp,
    principal: "user:alice@example.com",
    resourceName: "projects/demo",
    permission: "iap.webServiceVersions.accessViaIAP",
    granted: false,
    reason: "NO_MATCHING_BINDING",
    callerIp: "10.0.0.1",
    host: "web.example.test",
    path: "/",
    method: "GET",
    accessLevels: [],
    unsatisfiedLevels: ["accessPolicies/1/accessLevels/corp"],
    decidedBy: null,
    revision: 3n,
    latencyUs: 12,
    proxyCredentialId: null,
    status: { code: 7, message: "NO_MATCHING_BINDING" },
    whatIfTime: null,
    regionCode: "FR", destination: null,
  };
}

/** Writes records with these ages (days), in this order. */
async function write(ages: number[]): Promise<bigint[]> {
  const log = new DecisionLog({ databaseUrl: t.url, spoolDir: path.join(dir, "spool") });
  for (const a of ages) log.record(rec(new Date(Date.now() - a * DAY)));
  await log.stop();
  return (await t.prisma.dataAccessLog.findMany({ orderBy: { seq: "asc" }, select: { seq: true } })).map((r) => r.seq);
}
const checkpoints = () => parseCheckpoints(fs.readFileSync(file, "utf8"), file).checkpoints;

async function cli(...args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(path.join(ROOT, "node_modules/.bin/tsx"), ["lib/cli/main.ts", ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: t.url, AUTH_SECRET: "retention-test-auth-secret-0123456789abcdef", GATEHOUSE_DATA_DIR: dir, NODE_ENV: "test" },
    });
    return { code: 0, stdout };
  } catch (e) {
    const err = e as { code: number; stdout: string };
    return { code: err.code, stdout: err.stdout };
  }
}

describe("retention", () => {
  it("purges the old prefix, checkpoints its boundary first, and what remains verifies from there", async () => {
    // A record spooled during an outage and drained late sits after newer ones: the purge takes
    // the prefix by seq, so it stays until everything before it has expired.
    const seqs = await write([40, 39, 38, 1, 37, 0]);
    await new CheckpointWriter(t.prisma, sink()).write();
    const r = await purgeStream(t.prisma, "data_access", new Date(Date.now() - 30 * DAY), sink());
    expect(r).toMatchObject({ purged: 3, anchor: { seq: String(seqs[2]), count: "3", kind: "purge" } });
    expect((await t.prisma.dataAccessLog.findMany({ orderBy: { seq: "asc" } })).map((x) => x.seq)).toEqual(seqs.slice(3));
    // The purge checkpoint reached the file before the rows went.
    expect(checkpoints().map((c) => c.kind)).toEqual(["periodic", "purge"]);
    expect(await verifyDataAccess(t.prisma, { checkpoints: checkpoints() })).toMatchObject({ ok: true, records: 3, checkpoints: 2 });

    // New records chain on; a second purge moves the anchor on.
    await write([0]);
    expect(await purgeStream(t.prisma, "data_access", new Date(Date.now() - 30 * DAY), sink())).toMatchObject({ purged: 0 });
    expect(await verifyDataAccess(t.prisma, { checkpoints: checkpoints() })).toMatchObject({ ok: true, records: 4 });
  });

  it("after a purge, removing the oldest remaining record or forging the anchor is still detected", async () => {
    const seqs = await write([40, 39, 1, 0]);
    await purgeStream(t.prisma, "data_access", new Date(Date.now() - 30 * DAY), sink());
    await t.prisma.dataAccessLog.delete({ where: { seq: seqs[2]! } });
    expect(await verifyDataAccess(t.prisma)).toMatchObject({ ok: false, firstBroken: { seq: seqs[3]! }, missing: { afterSeq: seqs[1]!, beforeSeq: seqs[3]! } });
    const head = await t.prisma.auditChainHead.findUniqueOrThrow({ where: { stream: "data_access" } });
    await t.prisma.auditChainHead.update({ where: { stream: "data_access" }, data: { purgeAnchor: { ...(head.purgeAnchor as object), seq: String(seqs[2]) } } });
    expect(await verifyDataAccess(t.prisma)).toMatchObject({ ok: false, firstBroken: { reason: expect.stringMatching(/purge anchor .* not a valid signed checkpoint/) } });
  });

  it("refuses to purge a broken chain (a tampered record is never signed into an anchor)", async () => {
    const seqs = await write([40, 39, 0]);
    await t.prisma.dataAccessLog.update({ where: { seq: seqs[0]! }, data: { principal: "user:mallory@example.com" } });
    await expect(purgeStream(t.prisma, "data_access", new Date(Date.now() - 30 * DAY), sink())).rejects.toMatchObject({ code: "FAILED_PRECONDITION" });
    expect(await t.prisma.dataAccessLog.count()).toBe(3);
    expect(fs.existsSync(file)).toBe(false);
  });

  it("admin activity: a whole stream purged keeps verifying, and the next change chains on from its anchor", async () => {
    const entry = { actor: "system:test", methodName: "CreateGroup", serviceName: "cloudidentity.googleapis.com", resourceName: "groups/eng" };
    await t.prisma.$transaction((tx) => recordAdminActivity(tx, [entry, entry]));
    expect(await purgeStream(t.prisma, "admin_activity", new Date(Date.now() + DAY), sink())).toMatchObject({ purged: 2 });
    expect(await verifyAdminActivity(t.prisma, { checkpoints: checkpoints() })).toMatchObject({ ok: true, records: 0 });
    await t.prisma.$transaction((tx) => recordAdminActivity(tx, [entry]));
    expect(await verifyAdminActivity(t.prisma, { checkpoints: checkpoints() })).toMatchObject({ ok: true, records: 1 });
  });
});

describe("the CLI", () => {
  it("audit purge and audit verify: checkpoints in the data directory by default, a tampered tail named with its range", async () => {
    const seqs = await write([40, 2, 1, 0]);
    await new CheckpointWriter(t.prisma, { file: path.join(dir, "audit", "checkpoints.ndjson"), log: () => {} }).write();
    const purge = await cli("audit", "purge", "--stream", "data_access", "--older-than-days", "30");
    expect(purge).toMatchObject({ code: 0, stdout: expect.stringMatching(/data_access: purged 1 records older than 30 days/) });
    expect(await cli("audit", "verify")).toMatchObject({ code: 0, stdout: expect.stringMatching(/Checkpoints: 2 from .*\n[\s\S]*data_access: 3 records, 2 checkpoints, chain intact/) });

    await t.prisma.dataAccessLog.deleteMany({ where: { seq: { gte: seqs[2]! } } });
    await t.prisma.auditChainHead.update({ where: { stream: "data_access" }, data: { lastHash: (await t.prisma.dataAccessLog.findFirstOrThrow({ where: { seq: seqs[1]! } })).hash, lastSeq: seqs[1]!, recordCount: 2 } });
    const r = await cli("audit", "verify");
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`data_access: missing records after seq ${seqs[1]} and before seq ${seqs[3]! + 1n} \\(2 records\\)`));
  }, 180_000); // three CLI processes (tsx) on a shared machine
});
