// Retention: removes the oldest records of a stream while keeping what remains verifiable. A purge
// removes a PREFIX of the chain (by seq: the records before the first one still within the
// retention period), in batches; for each batch, with the stream's head locked, it
//   1. checks the batch's chain (a purge never launders a tampered record into a signed anchor),
//   2. writes a signed "purge" checkpoint of the batch's last record outside the database
//      (checkpoints.ts) — before anything is deleted,
//   3. deletes the batch and stores that checkpoint as the head's purgeAnchor, where verify
//      starts from.
import type { PrismaClient } from "@/lib/generated/prisma/client";
import { AppError } from "@/lib/errors";
import { hashedAdminFields, type HashedAdminActivity } from "./admin";
import { canonicalJson, chainHashText, type Stream } from "./chain";
import { emitCheckpoint, signCheckpoint, ZCheckpoint, type Checkpoint, type CheckpointSink } from "./checkpoints";
import { canonicalDataAccess } from "./decisions";

const BATCH = 5000;

const TABLE: Record<Stream, string> = { data_access: "DataAccessLog", admin_activity: "AdminActivityLog" };

interface Row {
  seq: bigint;
  prevHash: string;
  hash: string;
}

/** The canonical JSON of a row as read back with SELECT * (what its hash covers). */
function canonicalRow(stream: Stream, row: Record<string, unknown>): string {
  return stream === "data_access" ? canonicalDataAccess(row as unknown as Parameters<typeof canonicalDataAccess>[0]) : canonicalJson(hashedAdminFields(row as unknown as HashedAdminActivity));
}

export interface PurgeResult {
  stream: Stream;
  purged: number;
  /** The checkpoint at the new boundary (null when nothing was old enough). */
  anchor: Checkpoint | null;
}

/** Purges the records of `stream` older than `before` (see above). */
export async function purgeStream(db: PrismaClient, stream: Stream, before: Date, sink: CheckpointSink): Promise<PurgeResult> {
  const table = TABLE[stream];
  let purged = 0;
  let anchor: Checkpoint | null = null;
  for (;;) {
    const batch = await db.$transaction(
      async (tx) => {
        const [head] = await tx.$queryRaw<{ purgeAnchor: unknown }[]>`SELECT "purgeAnchor" FROM "AuditChainHead" WHERE stream = ${stream} FOR UPDATE`;
        if (!head) return null;
        const previous = head.purgeAnchor == null ? null : ZCheckpoint.parse(head.purgeAnchor);
        // The first record to keep; everything before it (by seq) goes, even if some of it is newer.
        const [keep] = await tx.$queryRawUnsafe<{ seq: bigint | null }[]>(`SELECT min(seq) AS seq FROM "${table}" WHERE "timestamp" >= $1`, before);
        const rows = await tx.$queryRawUnsafe<(Row & Record<string, unknown>)[]>(
          `SELECT * FROM "${table}" WHERE ${keep?.seq != null ? "seq < $2" : "true"} ORDER BY seq LIMIT $1`,
          BATCH,
          ...(keep?.seq != null ? [keep.seq] : []),
        );
        if (rows.length === 0) return null;
        let prev = previous?.hash ?? "";
        for (const r of rows) {
          if (r.prevHash !== prev || chainHashText(prev, canonicalRow(stream, r)) !== r.hash) {
            throw new AppError("FAILED_PRECONDITION", `the ${stream} chain is broken at seq ${r.seq}; nothing was purged (run audit verify)`);
          }
          prev = r.hash;
        }
        const last = rows.at(-1)!;
        const checkpoint = signCheckpoint({
          stream,
          seq: last.seq.toString(),
          hash: last.hash,
          count: (BigInt(previous?.count ?? 0) + BigInt(rows.length)).toString(),
          time: new Date().toISOString(),
          kind: "purge",
        });
        emitCheckpoint(sink, checkpoint);
        await tx.$executeRawUnsafe(`DELETE FROM "${table}" WHERE seq <= $1`, last.seq);
        await tx.$executeRaw`UPDATE "AuditChainHead" SET "purgeAnchor" = ${JSON.stringify(checkpoint)}::jsonb WHERE stream = ${stream}`;
        return { n: rows.length, checkpoint };
      },
      { timeout: 120_000 },
    );
    if (!batch) break;
    purged += batch.n;
    anchor = batch.checkpoint;
    if (batch.n < BATCH) break;
  }
  return { stream, purged, anchor };
}

export type RetentionDays = Record<Stream, number>;

/** Purges every stream that has a retention period (days > 0). */
export async function purgeExpired(db: PrismaClient, retention: RetentionDays, sink: CheckpointSink, now = new Date()): Promise<PurgeResult[]> {
  const out: PurgeResult[] = [];
  for (const [stream, days] of Object.entries(retention) as [Stream, number][]) {
    if (days > 0) out.push(await purgeStream(db, stream, new Date(now.getTime() - days * 86_400_000), sink));
  }
  return out;
}
