// Data-access audit records (Cloud Audit Log "AuthorizeUser" entries): one per decision.
// Written off the hot path: `record()` only appends to memory; a flush every FLUSH_MS (or when
// BATCH_SIZE records are waiting) writes one batch in one transaction, extending the hash chain.
// Never lost: when the database cannot be written, the batch is appended to a spool file
// (fsync'd) under the data directory and drained back, in order, once the database is back.
import fs from "node:fs";
import path from "node:path";
import type { Prisma, PrismaClient } from "@/lib/generated/prisma/client";
import { chainHash } from "./chain";

export interface DataAccessRecord {
  decisionId: string;
  timestamp: Date;
  principal: string | null;
  resourceName: string;
  permission: string;
  granted: boolean;
  reason: string;
  callerIp: string | null;
  host: string | null;
  path: string | null;
  method: string | null;
  accessLevels: string[];
  unsatisfiedLevels: string[];
  decidedBy: Record<string, unknown> | null;
  revision: bigint;
  latencyUs: number;
  proxyCredentialId: string | null;
  status: { code: number; message: string } | null;
}

/** The fields that the hash covers, in the form they are read back. */
export function hashedDataAccessFields(r: DataAccessRecord | (Omit<DataAccessRecord, "decidedBy" | "status"> & { decidedBy: unknown; status: unknown })) {
  return {
    decisionId: r.decisionId,
    timestamp: r.timestamp,
    principal: r.principal,
    resourceName: r.resourceName,
    permission: r.permission,
    granted: r.granted,
    reason: r.reason,
    callerIp: r.callerIp,
    host: r.host,
    path: r.path,
    method: r.method,
    accessLevels: r.accessLevels,
    unsatisfiedLevels: r.unsatisfiedLevels,
    decidedBy: r.decidedBy ?? null,
    revision: r.revision,
    latencyUs: r.latencyUs,
    proxyCredentialId: r.proxyCredentialId,
    status: r.status ?? null,
  };
}

export const FLUSH_MS = 200;
export const BATCH_SIZE = 1000;
const DRAIN_MS = 5000;
const SPOOL_FILE = "data-access.ndjson";

export interface DecisionLogStats {
  recorded: number;
  written: number;
  spooled: number;
  pending: number;
  spoolFile: string;
  lastError: string | null;
}

export class DecisionLog {
  private queue: DataAccessRecord[] = [];
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private drainTimer: NodeJS.Timeout | null = null;
  private readonly spoolPath: string;
  private stats = { recorded: 0, written: 0, spooled: 0 };
  private lastError: string | null = null;

  constructor(
    private readonly prisma: PrismaClient,
    opts: { spoolDir: string },
  ) {
    fs.mkdirSync(opts.spoolDir, { recursive: true });
    this.spoolPath = path.join(opts.spoolDir, SPOOL_FILE);
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.timer.unref();
    this.drainTimer = setInterval(() => void this.flush(), DRAIN_MS);
    this.drainTimer.unref();
  }

  /** Hot path: O(1), no I/O. */
  record(r: DataAccessRecord): void {
    this.queue.push(r);
    this.stats.recorded++;
    if (this.queue.length >= BATCH_SIZE) void this.flush();
  }

  getStats(): DecisionLogStats {
    return { ...this.stats, pending: this.queue.length, spoolFile: this.spoolPath, lastError: this.lastError };
  }

  /** Writes what is queued (and anything spooled before it). Concurrent calls coalesce. */
  flush(): Promise<void> {
    this.flushing ??= this.doFlush().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.drainTimer) clearInterval(this.drainTimer);
    await this.flush();
    if (this.queue.length) await this.flush();
  }

  private async doFlush(): Promise<void> {
    // Spooled records are older than queued ones: drain them first to keep the chain in order.
    if (fs.existsSync(this.spoolPath)) {
      try {
        await this.drainSpool();
      } catch (e) {
        this.lastError = e instanceof Error ? e.message : String(e);
        this.spool(this.queue.splice(0));
        return;
      }
    }
    while (this.queue.length) {
      const batch = this.queue.splice(0, BATCH_SIZE);
      try {
        await this.write(batch);
        this.lastError = null;
      } catch (e) {
        this.lastError = e instanceof Error ? e.message : String(e);
        this.spool([...batch, ...this.queue.splice(0)]);
        return;
      }
    }
  }

  private spool(records: DataAccessRecord[]): void {
    if (!records.length) return;
    const text = records.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))).join("\n") + "\n";
    const fd = fs.openSync(this.spoolPath, "a", 0o600);
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    this.stats.spooled += records.length;
  }

  private async drainSpool(): Promise<void> {
    const lines = fs.readFileSync(this.spoolPath, "utf8").split("\n").filter(Boolean);
    const records = lines.map((l) => {
      const o = JSON.parse(l) as Omit<DataAccessRecord, "timestamp" | "revision"> & { timestamp: string; revision: string };
      return { ...o, timestamp: new Date(o.timestamp), revision: BigInt(o.revision) };
    });
    for (let i = 0; i < records.length; i += BATCH_SIZE) await this.write(records.slice(i, i + BATCH_SIZE));
    fs.rmSync(this.spoolPath);
  }

  /** One batch in one transaction; records already written (a re-drained spool) are skipped. */
  private async write(batch: DataAccessRecord[]): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      const existing = await tx.dataAccessLog.findMany({ where: { decisionId: { in: batch.map((r) => r.decisionId) } }, select: { decisionId: true } });
      const skip = new Set(existing.map((e) => e.decisionId));
      const fresh = batch.filter((r) => !skip.has(r.decisionId));
      if (!fresh.length) return;
      await tx.$executeRaw`INSERT INTO "AuditChainHead" (stream) VALUES ('data_access') ON CONFLICT DO NOTHING`;
      const [head] = await tx.$queryRaw<{ lastHash: string }[]>`SELECT "lastHash" FROM "AuditChainHead" WHERE stream = 'data_access' FOR UPDATE`;
      let prevHash = head?.lastHash ?? "";
      const rows: Prisma.DataAccessLogCreateManyInput[] = fresh.map((r) => {
        const hash = chainHash(prevHash, hashedDataAccessFields(r));
        const row = {
          ...r,
          decidedBy: (r.decidedBy ?? undefined) as Prisma.InputJsonValue | undefined,
          status: (r.status ?? undefined) as Prisma.InputJsonValue | undefined,
          prevHash,
          hash,
        };
        prevHash = hash;
        return row;
      });
      await tx.dataAccessLog.createMany({ data: rows });
      await tx.$executeRaw`UPDATE "AuditChainHead" SET "lastHash" = ${prevHash} WHERE stream = 'data_access'`;
    });
    this.stats.written += batch.length;
  }
}
