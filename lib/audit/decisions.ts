// Data-access audit records (Cloud Audit Log "AuthorizeUser" entries): one per decision.
// Written off the hot path: `record()` only appends to memory; a flush every FLUSH_MS (or when
// BATCH_SIZE records are waiting) writes one batch in one transaction, extending the hash chain.
// Never lost: when the database cannot be written, the batch is appended to a spool file
// (fsync'd) under the data directory and drained back, in order, once the database is back.
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { chainHashText } from "./chain";

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

type StoredDataAccess = Omit<DataAccessRecord, "decidedBy" | "status"> & { decidedBy: unknown; status: unknown };

/** The fields that the hash covers, in the form they are read back. */
export function hashedDataAccessFields(r: DataAccessRecord | StoredDataAccess) {
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

/**
 * `canonicalJson(hashedDataAccessFields(r))` in one JSON.stringify: the keys are written in
 * sorted order here (chain.test.ts pins the equality). Once per decision, so it matters.
 */
export function canonicalDataAccess(r: DataAccessRecord | StoredDataAccess): string {
  return JSON.stringify({
    accessLevels: r.accessLevels,
    callerIp: r.callerIp,
    decidedBy: sortedKeys(r.decidedBy ?? null),
    decisionId: r.decisionId,
    granted: r.granted,
    host: r.host,
    latencyUs: r.latencyUs,
    method: r.method,
    path: r.path,
    permission: r.permission,
    principal: r.principal,
    proxyCredentialId: r.proxyCredentialId,
    reason: r.reason,
    resourceName: r.resourceName,
    revision: r.revision.toString(),
    status: sortedKeys(r.status ?? null),
    timestamp: isoString(r.timestamp),
    unsatisfiedLevels: r.unsatisfiedLevels,
  });
}

/** A copy of a JSON value with every object's keys in canonicalJson's order. */
function sortedKeys(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(sortedKeys);
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort()) out[k] = sortedKeys(o[k]);
  return out;
}

/** Date.toISOString costs ~2 µs here; at decision rates many records share a millisecond. */
let lastIso = { ms: NaN, text: "" };
function isoString(d: Date): string {
  const ms = d.getTime();
  if (ms !== lastIso.ms) lastIso = { ms, text: d.toISOString() };
  return lastIso.text;
}

export const FLUSH_MS = 100;
export const BATCH_SIZE = 250;
const HASH_SLICE = 100;
const INSERT_BATCH = `
  INSERT INTO "DataAccessLog" ("decisionId", "timestamp", "principal", "resourceName", "permission", "granted", "reason",
    "callerIp", "host", "path", "method", "accessLevels", "unsatisfiedLevels", "decidedBy", "revision", "latencyUs",
    "proxyCredentialId", "status", "prevHash", "hash")
  SELECT "decisionId", "timestamp", "principal", "resourceName", "permission", "granted", "reason",
    "callerIp", "host", "path", "method", "accessLevels", "unsatisfiedLevels", "decidedBy", "revision", "latencyUs",
    "proxyCredentialId", "status", "prevHash", "hash"
  FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS ("decisionId" text, "timestamp" timestamp(3), "principal" text,
    "resourceName" text, "permission" text, "granted" boolean, "reason" text, "callerIp" text, "host" text, "path" text,
    "method" text, "accessLevels" text[], "unsatisfiedLevels" text[], "decidedBy" jsonb, "revision" bigint, "latencyUs" integer,
    "proxyCredentialId" text, "status" jsonb, "prevHash" text, "hash" text)) WITH ORDINALITY AS r
  ORDER BY r.ordinality`;
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

  /**
   * The writer's own connection (not the Prisma client's): a batch is one parameter of ~1 KB per
   * record, and Prisma's raw-query path inspects every parameter on the event loop.
   */
  private readonly pool: pg.Pool;

  constructor(opts: { databaseUrl: string; spoolDir: string }) {
    fs.mkdirSync(opts.spoolDir, { recursive: true });
    this.spoolPath = path.join(opts.spoolDir, SPOOL_FILE);
    this.pool = new pg.Pool({ connectionString: opts.databaseUrl, max: 1, connectionTimeoutMillis: 5000 });
    // A dropped idle connection must not crash the process; the next write reconnects (or spools).
    this.pool.on("error", (e) => (this.lastError = e.message));
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
    await this.pool.end().catch(() => {});
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
    for (let i = 0; i < records.length; i += BATCH_SIZE) await this.write(records.slice(i, i + BATCH_SIZE), true);
    fs.rmSync(this.spoolPath);
  }

  /**
   * One batch in one transaction, as one INSERT … SELECT FROM jsonb_to_recordset (Prisma's
   * createMany compiles a query per batch on the event loop: ~20x slower at decision rates).
   * Hashing yields to the event loop every HASH_SLICE records, so a batch never stalls decisions.
   * `dedupe`: skip records already written (a spool drained again after a crash mid-drain).
   */
  private async write(batch: DataAccessRecord[], dedupe = false): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      let fresh = batch;
      if (dedupe) {
        const existing = await client.query<{ decisionId: string }>(`SELECT "decisionId" FROM "DataAccessLog" WHERE "decisionId" = ANY($1::text[])`, [batch.map((r) => r.decisionId)]);
        const skip = new Set(existing.rows.map((e) => e.decisionId));
        fresh = batch.filter((r) => !skip.has(r.decisionId));
      }
      if (fresh.length) {
        await client.query(`INSERT INTO "AuditChainHead" (stream) VALUES ('data_access') ON CONFLICT DO NOTHING`);
        const head = await client.query<{ lastHash: string }>(`SELECT "lastHash" FROM "AuditChainHead" WHERE stream = 'data_access' FOR UPDATE`);
        let prevHash = head.rows[0]?.lastHash ?? "";
        // Each row is its canonical JSON (which has every column but the two hashes) plus them.
        const rows: string[] = [];
        for (const r of fresh) {
          const canonical = canonicalDataAccess(r);
          const hash = chainHashText(prevHash, canonical);
          rows.push(`${canonical.slice(0, -1)},"prevHash":"${prevHash}","hash":"${hash}"}`);
          prevHash = hash;
          if (rows.length % HASH_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
        }
        await client.query(INSERT_BATCH, [`[${rows.join(",")}]`]);
        await client.query(`UPDATE "AuditChainHead" SET "lastHash" = $1 WHERE stream = 'data_access'`, [prevHash]);
      }
      await client.query("COMMIT");
      client.release();
    } catch (e) {
      await client.query("ROLLBACK").catch(() => {});
      client.release(e instanceof Error ? e : new Error(String(e))); // discard the connection
      throw e;
    }
    this.stats.written += batch.length;
  }
}
