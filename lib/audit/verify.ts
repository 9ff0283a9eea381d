// Walks each audit stream in order and recomputes the hash chain; reports the first record
// whose stored hash or back-link does not match (a modified, inserted or deleted record).
import type { PrismaClient } from "@/lib/generated/prisma/client";
import { hashedAdminFields } from "./admin";
import { chainHash, type Stream } from "./chain";

export interface ChainReport {
  stream: Stream;
  records: number;
  ok: boolean;
  firstBroken?: { seq: bigint; reason: string };
}

const PAGE = 5000;

export async function verifyAdminActivity(db: PrismaClient): Promise<ChainReport> {
  let prev = "";
  let count = 0;
  let cursor: bigint | undefined;
  for (;;) {
    const rows = await db.adminActivityLog.findMany({
      orderBy: { seq: "asc" },
      take: PAGE,
      ...(cursor !== undefined ? { cursor: { seq: cursor }, skip: 1 } : {}),
    });
    for (const r of rows) {
      count++;
      if (r.prevHash !== prev) return { stream: "admin_activity", records: count, ok: false, firstBroken: { seq: r.seq, reason: "its link to the previous record does not match (a record before it was removed or altered)" } };
      const expected = chainHash(prev, hashedAdminFields(r));
      if (expected !== r.hash) return { stream: "admin_activity", records: count, ok: false, firstBroken: { seq: r.seq, reason: "its content does not match its hash (the record was modified)" } };
      prev = r.hash;
    }
    if (rows.length < PAGE) break;
    cursor = rows[rows.length - 1]!.seq;
  }
  const head = await db.auditChainHead.findUnique({ where: { stream: "admin_activity" } });
  if (head && head.lastHash !== prev) {
    return { stream: "admin_activity", records: count, ok: false, firstBroken: { seq: BigInt(count), reason: "the newest records were removed (the chain head does not match the last record)" } };
  }
  return { stream: "admin_activity", records: count, ok: true };
}
