// Walks each audit stream in order and recomputes the hash chain; reports the first record
// whose stored hash or back-link does not match (a modified, inserted or deleted record).
import type { AdminActivityLog, DataAccessLog, PrismaClient } from "@/lib/generated/prisma/client";
import { hashedAdminFields } from "./admin";
import { canonicalJson, chainHashText, type Stream } from "./chain";
import { canonicalDataAccess } from "./decisions";

export interface ChainReport {
  stream: Stream;
  records: number;
  ok: boolean;
  firstBroken?: { seq: bigint; reason: string };
}

const PAGE = 5000;

interface ChainRow {
  seq: bigint;
  prevHash: string;
  hash: string;
}

async function verifyStream<R extends ChainRow>(
  db: PrismaClient,
  stream: Stream,
  page: (after: bigint | undefined) => Promise<R[]>,
  /** The record's canonical JSON (what its hash covers). */
  canonical: (r: R) => string,
): Promise<ChainReport> {
  let prev = "";
  let count = 0;
  let last: bigint | undefined;
  for (;;) {
    const rows = await page(last);
    for (const r of rows) {
      count++;
      if (r.prevHash !== prev) return { stream, records: count, ok: false, firstBroken: { seq: r.seq, reason: "its link to the previous record does not match (a record before it was removed or altered)" } };
      if (chainHashText(prev, canonical(r)) !== r.hash) return { stream, records: count, ok: false, firstBroken: { seq: r.seq, reason: "its content does not match its hash (the record was modified)" } };
      prev = r.hash;
      last = r.seq;
    }
    if (rows.length < PAGE) break;
  }
  const head = await db.auditChainHead.findUnique({ where: { stream } });
  if (head && head.lastHash !== prev) {
    return { stream, records: count, ok: false, firstBroken: { seq: (last ?? 0n) + 1n, reason: "the newest records were removed (the chain head does not match the last record)" } };
  }
  return { stream, records: count, ok: true };
}

export function verifyAdminActivity(db: PrismaClient): Promise<ChainReport> {
  return verifyStream<AdminActivityLog>(
    db,
    "admin_activity",
    (after) => db.adminActivityLog.findMany({ orderBy: { seq: "asc" }, take: PAGE, ...(after !== undefined ? { where: { seq: { gt: after } } } : {}) }),
    (r) => canonicalJson(hashedAdminFields(r)),
  );
}

export function verifyDataAccess(db: PrismaClient): Promise<ChainReport> {
  return verifyStream<DataAccessLog>(
    db,
    "data_access",
    (after) => db.dataAccessLog.findMany({ orderBy: { seq: "asc" }, take: PAGE, ...(after !== undefined ? { where: { seq: { gt: after } } } : {}) }),
    canonicalDataAccess,
  );
}

export async function verifyAll(db: PrismaClient): Promise<ChainReport[]> {
  return [await verifyAdminActivity(db), await verifyDataAccess(db)];
}
