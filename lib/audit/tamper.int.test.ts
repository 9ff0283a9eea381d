// Tampering with the audit trail as someone who controls the database but not the configuration
// would: each attack recomputes every hash it touches (with plain SHA-256, the only function it
// can compute) and rewrites the chain's head, so that a chain checked only against itself would
// verify. With keyed chains and checkpoints kept outside the database, each is detected and named.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createSecretKey, randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@/lib/test/db";
import { legacyChainHashText } from "./chain";
import { CheckpointWriter, parseCheckpoints, signCheckpoint, type Checkpoint } from "./checkpoints";
import { canonicalDataAccess, DecisionLog, type DataAccessRecord } from "./decisions";
import { verifyDataAccess } from "./verify";

let t: TestDatabase;
let dir: string;
let checkpoints: Checkpoint[];
const N = 30;

beforeAll(async () => {
  t = await createTestDatabase();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "gh-tamper-"));
});
afterAll(async () => {
  await t.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function rec(i: number): DataAccessRecord {
  return {
    decisionId: randomUUID(),
    timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
    principal: `user:u${i}@example.com`,
    resourceName: "projects/demo",
    permission: "iap.webServiceVersions.accessViaIAP",
    granted: true,
    reason: "GRANTED",
    callerIp: null,
    host: null,
    path: null,
    method: "GET",
    accessLevels: [],
    unsatisfiedLevels: [],
    decidedBy: null,
    revision: 1n,
    latencyUs: 10,
    proxyCredentialId: null,
    status: null,
    whatIfTime: null,
    regionCode: null, destination: null,
  };
}

/** A fresh stream of N records, checkpointed after all of them (as the server does periodically). */
beforeEach(async () => {
  await t.prisma.$executeRawUnsafe(`TRUNCATE "DataAccessLog"; DELETE FROM "AuditChainHead"`);
  const log = new DecisionLog({ databaseUrl: t.url, spoolDir: path.join(dir, "spool") });
  for (let i = 0; i < N; i++) log.record(rec(i));
  await log.stop();
  const file = path.join(dir, `checkpoints-${randomUUID()}.ndjson`);
  const lines: string[] = [];
  await new CheckpointWriter(t.prisma, { file, log: (l) => lines.push(l) }).write();
  checkpoints = parseCheckpoints(fs.readFileSync(file, "utf8"), file).checkpoints;
  expect(checkpoints).toHaveLength(1);
  // The log stream carries the same line: a log excerpt is a checkpoint file too.
  expect(parseCheckpoints(lines.map((l) => `2026-12-06T20:00:00Z gatehouse ${l}`).join("\n"), "log").checkpoints).toEqual(checkpoints);
  expect(await verifyDataAccess(t.prisma, { checkpoints })).toMatchObject({ ok: true, records: N, checkpoints: 1 });
});

interface Row {
  seq: bigint;
  hash: string;
}
const seqs = async () => (await t.prisma.dataAccessLog.findMany({ orderBy: { seq: "asc" }, select: { seq: true } })).map((r) => r.seq);

/** What an attacker without the key does after changing rows: rechain everything from `fromSeq` with SHA-256 and move the head. */
async function rechain(fromSeq: bigint): Promise<void> {
  const rows = await t.prisma.dataAccessLog.findMany({ orderBy: { seq: "asc" } });
  let prev = "";
  for (const r of rows) {
    if (r.seq >= fromSeq) {
      const hash = legacyChainHashText(prev, canonicalDataAccess(r));
      await t.prisma.dataAccessLog.update({ where: { seq: r.seq }, data: { prevHash: prev, hash } });
      prev = hash;
    } else prev = r.hash;
  }
  const count = BigInt(rows.length);
  const last = rows.at(-1) as Row | undefined;
  await t.prisma.auditChainHead.upsert({
    where: { stream: "data_access" },
    create: { stream: "data_access", lastHash: prev, lastSeq: last?.seq ?? 0n, recordCount: count },
    update: { lastHash: prev, lastSeq: last?.seq ?? 0n, recordCount: count },
  });
}

describe("audit verify detects", () => {
  it("an update (the record changed, its hash and every later one recomputed)", async () => {
    const target = (await seqs())[10]!;
    await t.prisma.dataAccessLog.update({ where: { seq: target }, data: { principal: "user:someone-else@example.com" } });
    await rechain(target);
    expect(await verifyDataAccess(t.prisma)).toMatchObject({ ok: false, firstBroken: { seq: target, reason: expect.stringMatching(/modified, or inserted without the audit key/) } });
  });

  it("a delete (a record removed, the chain relinked over the gap)", async () => {
    const s = await seqs();
    await t.prisma.dataAccessLog.delete({ where: { seq: s[12]! } });
    await rechain(s[13]!);
    expect(await verifyDataAccess(t.prisma)).toMatchObject({ ok: false, firstBroken: { seq: s[13]! } });
  });

  it("a delete without relinking names the missing range", async () => {
    const s = await seqs();
    await t.prisma.dataAccessLog.deleteMany({ where: { seq: { in: [s[12]!, s[13]!] } } });
    expect(await verifyDataAccess(t.prisma)).toMatchObject({ ok: false, firstBroken: { seq: s[14]! }, missing: { afterSeq: s[11]!, beforeSeq: s[14]! } });
  });

  it("an insert (a forged record appended and chained on)", async () => {
    const forged = { ...rec(99), principal: "user:alibi@example.com" };
    const head = await t.prisma.auditChainHead.findUniqueOrThrow({ where: { stream: "data_access" } });
    const hash = legacyChainHashText(head.lastHash, canonicalDataAccess(forged));
    const row = await t.prisma.dataAccessLog.create({ data: { ...forged, decidedBy: undefined, status: undefined, destination: undefined, prevHash: head.lastHash, hash } });
    await t.prisma.auditChainHead.update({ where: { stream: "data_access" }, data: { lastHash: hash, lastSeq: row.seq, recordCount: { increment: 1 } } });
    expect(await verifyDataAccess(t.prisma)).toMatchObject({ ok: false, firstBroken: { seq: row.seq } });
  });

  it("a reorder (two records swapped, the chain recomputed in the new order)", async () => {
    const s = await seqs();
    const [a, b] = [s[5]!, s[6]!];
    await t.prisma.$executeRawUnsafe(`UPDATE "DataAccessLog" SET seq = -1 WHERE seq = $1`, a);
    await t.prisma.$executeRawUnsafe(`UPDATE "DataAccessLog" SET seq = $1 WHERE seq = $2`, a, b);
    await t.prisma.$executeRawUnsafe(`UPDATE "DataAccessLog" SET seq = $1 WHERE seq = -1`, b);
    await rechain(a);
    expect(await verifyDataAccess(t.prisma)).toMatchObject({ ok: false, firstBroken: { seq: a } });
  });

  it("a truncated tail (the newest records removed, the head moved back): the checkpoint names the missing range", async () => {
    const s = await seqs();
    await t.prisma.dataAccessLog.deleteMany({ where: { seq: { gt: s[19]! } } });
    await rechain(s.at(-1)! + 1n); // only the head moves
    // Against itself the chain is whole; against the checkpoint, 10 records are missing.
    expect(await verifyDataAccess(t.prisma)).toMatchObject({ ok: true });
    expect(await verifyDataAccess(t.prisma, { checkpoints })).toMatchObject({
      ok: false,
      firstBroken: { seq: s[19]! + 1n, reason: expect.stringMatching(/newest records were removed/) },
      missing: { afterSeq: s[19]!, beforeSeq: s.at(-1)! + 1n, count: 10n },
    });
  });

  it("a wiped stream (every record and the head deleted)", async () => {
    const s = await seqs();
    await t.prisma.$executeRawUnsafe(`DELETE FROM "DataAccessLog"; DELETE FROM "AuditChainHead"`);
    expect(await verifyDataAccess(t.prisma, { checkpoints })).toMatchObject({
      ok: false,
      records: 0,
      firstBroken: { reason: expect.stringMatching(/the stream was wiped/) },
      missing: { afterSeq: 0n, beforeSeq: s.at(-1)! + 1n, count: BigInt(N) },
    });
  });

  it("a forged checkpoint, and a chain rewritten entirely without the key", async () => {
    const forged = signCheckpoint({ ...checkpoints[0]!, count: "1" }, createSecretKey(Buffer.alloc(32)));
    expect(await verifyDataAccess(t.prisma, { checkpoints: [forged] })).toMatchObject({ ok: false, firstBroken: { reason: expect.stringMatching(/bad signature/) } });
    await rechain(0n);
    // Unkeyed records pass only when asked for (old trails), and never against a checkpoint.
    expect(await verifyDataAccess(t.prisma)).toMatchObject({ ok: false });
    expect(await verifyDataAccess(t.prisma, { allowUnkeyed: true })).toMatchObject({ ok: true, unkeyed: N });
    expect(await verifyDataAccess(t.prisma, { allowUnkeyed: true, checkpoints })).toMatchObject({ ok: false, firstBroken: { reason: expect.stringMatching(/does not match the checkpoint/) } });
  });
});
