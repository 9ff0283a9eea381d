// Walks each audit stream in seq order, recomputes its keyed hash chain and checks it against the
// stream's head, its purge anchor (retention.ts) and any signed checkpoints kept outside the
// database (checkpoints.ts). Reports the first bad record, or the range of records missing:
//   - a record changed, or inserted, without the audit key: its hash does not match;
//   - records removed or reordered: a record does not follow the one before it;
//   - records removed from the end, or a whole stream wiped, with the head rewritten to match:
//     a checkpoint pins a seq, hash and count the database no longer reaches.
import type { AdminActivityLog, DataAccessLog, PrismaClient } from "@/lib/generated/prisma/client";
import { hashedAdminFields } from "./admin";
import { auditKeys, canonicalJson, chainHashText, legacyChainHashText, type Stream } from "./chain";
import { checkpointSignatureValid, ZCheckpoint, type Checkpoint } from "./checkpoints";
import { canonicalDataAccess } from "./decisions";

export interface ChainReport {
  stream: Stream;
  /** Records walked (those after the purge anchor). */
  records: number;
  ok: boolean;
  firstBroken?: { seq: bigint; reason: string };
  /** Records known to be missing: seqs after `afterSeq` and before `beforeSeq` (null: to the end), `count` of them when known. */
  missing?: { afterSeq: bigint; beforeSeq: bigint | null; count: bigint | null };
  /** Checkpoints of this stream that were checked. */
  checkpoints: number;
  /** Records hashed without a key (written before chains were keyed), accepted with allowUnkeyed. */
  unkeyed: number;
}

export interface VerifyOptions {
  /** Signed checkpoints kept outside the database (any streams; each is checked against its own). */
  checkpoints?: readonly Checkpoint[];
  /**
   * Accept records hashed without the key as a prefix of a stream (trails written before chains
   * were keyed). Off by default: anyone with database access can compute such hashes.
   */
  allowUnkeyed?: boolean;
}

const PAGE = 5000;

interface ChainRow {
  seq: bigint;
  prevHash: string;
  hash: string;
}

type Failure = Pick<ChainReport, "firstBroken" | "missing">;

async function verifyStream<R extends ChainRow>(
  db: PrismaClient,
  stream: Stream,
  page: (after: bigint) => Promise<R[]>,
  /** The record's canonical JSON (what its hash covers). */
  canonical: (r: R) => string,
  opts: VerifyOptions,
): Promise<ChainReport> {
  const key = auditKeys().chain;
  const pins = (opts.checkpoints ?? []).filter((c) => c.stream === stream).sort((a, b) => (BigInt(a.seq) < BigInt(b.seq) ? -1 : 1));
  let count = 0;
  let unkeyed = 0;
  const report = (failure?: Failure): ChainReport => ({ stream, records: count, ok: !failure, ...failure, checkpoints: pins.length, unkeyed });
  for (const c of pins) {
    if (!checkpointSignatureValid(c)) return report({ firstBroken: { seq: BigInt(c.seq), reason: `the checkpoint of ${c.time} has a bad signature (forged, or signed with another key)` } });
  }

  let head = await db.auditChainHead.findUnique({ where: { stream } });
  let prev = "";
  let total = 0n; // records ever appended, up to the one walked last
  let lastSeq = 0n;
  if (head?.purgeAnchor != null) {
    const anchor = ZCheckpoint.safeParse(head.purgeAnchor);
    if (!anchor.success || anchor.data.stream !== stream || !checkpointSignatureValid(anchor.data)) {
      return report({ firstBroken: { seq: 0n, reason: "the purge anchor in the database is not a valid signed checkpoint (altered or forged)" } });
    }
    prev = anchor.data.hash;
    total = BigInt(anchor.data.count);
    lastSeq = BigInt(anchor.data.seq);
  }
  let next = pins.findIndex((c) => BigInt(c.seq) > lastSeq);
  if (next === -1) next = pins.length;
  // Checkpoints at or before the purge boundary: that part is gone, but must have been on this chain.
  for (const c of pins.slice(0, next)) {
    if (BigInt(c.seq) === lastSeq && (c.hash !== prev || BigInt(c.count) !== total)) {
      return report({ firstBroken: { seq: lastSeq, reason: `the purge anchor does not match the checkpoint of ${c.time}` } });
    }
    if (BigInt(c.count) > total) return report({ firstBroken: { seq: BigInt(c.seq), reason: `records up to seq ${c.seq} are gone but not accounted for by a purge (checkpoint of ${c.time})` } });
  }

  let keyed = false;
  // Walks to the end, then reads the head again: while writers append, walk on to where it is now.
  for (let rounds = 0; ; rounds++) {
    for (;;) {
      const rows = await page(lastSeq);
      for (const r of rows) {
        count++;
        total++;
        const pin = pins[next];
        if (pin && BigInt(pin.seq) < r.seq) {
          return report({
            firstBroken: { seq: r.seq, reason: `the record at seq ${pin.seq} pinned by the checkpoint of ${pin.time} is missing` },
            missing: { afterSeq: lastSeq, beforeSeq: r.seq, count: null },
          });
        }
        const text = canonical(r);
        if (r.prevHash !== prev) {
          const genuine = chainHashText(r.prevHash, text, key) === r.hash;
          return report(
            genuine
              ? {
                  firstBroken: { seq: r.seq, reason: `it does not follow seq ${lastSeq}: records between them were removed, or records were reordered` },
                  missing: { afterSeq: lastSeq, beforeSeq: r.seq, count: null },
                }
              : { firstBroken: { seq: r.seq, reason: "it does not link to the record before it, and its content does not match its hash (inserted or altered)" } },
          );
        }
        if (chainHashText(prev, text, key) === r.hash) keyed = true;
        else if (opts.allowUnkeyed && !keyed && legacyChainHashText(prev, text) === r.hash) unkeyed++;
        else return report({ firstBroken: { seq: r.seq, reason: "its content does not match its hash (the record was modified, or inserted without the audit key)" } });
        if (pin && BigInt(pin.seq) === r.seq) {
          if (pin.hash !== r.hash || BigInt(pin.count) !== total) {
            return report({ firstBroken: { seq: r.seq, reason: `it does not match the checkpoint of ${pin.time} (records before it were removed, inserted or rewritten)` } });
          }
          next++;
        }
        prev = r.hash;
        lastSeq = r.seq;
      }
      if (rows.length < PAGE) break;
    }
    head = await db.auditChainHead.findUnique({ where: { stream } });
    if (!head || head.lastSeq <= lastSeq || rounds >= 3) break;
  }

  const pin = pins.at(-1);
  if (next < pins.length && pin) {
    const lost = BigInt(pin.count) - total;
    return report({
      firstBroken: {
        seq: lastSeq + 1n,
        reason:
          count === 0
            ? `the stream was wiped: the checkpoint of ${pin.time} pins ${pin.count} records through seq ${pin.seq}; the database has none after seq ${lastSeq}`
            : `the newest records were removed: the checkpoint of ${pin.time} pins ${pin.count} records through seq ${pin.seq}; the database ends at seq ${lastSeq} with ${total}`,
      },
      missing: { afterSeq: lastSeq, beforeSeq: BigInt(pin.seq) + 1n, count: lost },
    });
  }
  if (!head && count > 0) return report({ firstBroken: { seq: lastSeq, reason: "the chain's head was removed" } });
  if (head && (head.lastHash !== prev || (head.lastSeq > 0n && head.recordCount !== total))) {
    return report({ firstBroken: { seq: lastSeq + 1n, reason: "the newest records were removed (the chain head does not match the last record)" }, missing: { afterSeq: lastSeq, beforeSeq: null, count: null } });
  }
  return report();
}


export function verifyAdminActivity(db: PrismaClient, opts: VerifyOptions = {}): Promise<ChainReport> {
  return verifyStream<AdminActivityLog>(
    db,
    "admin_activity",
    (after) => db.adminActivityLog.findMany({ orderBy: { seq: "asc" }, take: PAGE, where: { seq: { gt: after } } }),
    (r) => canonicalJson(hashedAdminFields(r)),
    opts,
  );
}

export function verifyDataAccess(db: PrismaClient, opts: VerifyOptions = {}): Promise<ChainReport> {
  return verifyStream<DataAccessLog>(
    db,
    "data_access",
    (after) => db.dataAccessLog.findMany({ orderBy: { seq: "asc" }, take: PAGE, where: { seq: { gt: after } } }),
    canonicalDataAccess,
    opts,
  );
}

export async function verifyAll(db: PrismaClient, opts: VerifyOptions = {}): Promise<ChainReport[]> {
  return [await verifyAdminActivity(db, opts), await verifyDataAccess(db, opts)];
}
