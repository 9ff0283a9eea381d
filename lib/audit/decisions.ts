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
  /** A trusted proxy's what-if time the check was evaluated at; null for a real request. */
  whatIfTime: Date | null;
  /** The client's region the decision used (trusted region header or request.regionCode); null when none. */
  regionCode: string | null;
}

/** A record as read back from the database (JSON columns untyped). */
export type StoredDataAccess = Omit<DataAccessRecord, "decidedBy" | "status"> & { decidedBy: unknown; status: unknown };

/**
 * What a record's hash covers: `canonicalJson` of every field but the two hashes (chain.ts),
 * built with one JSON.stringify by writing the keys in sorted order here — it runs once per
 * decision. chain.test.ts pins the equality with the canonicalJson definition.
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
    // Present only when set, like whatIfTime.
    ...(r.regionCode ? { regionCode: r.regionCode } : {}),
    resourceName: r.resourceName,
    revision: r.revision.toString(),
    status: sortedKeys(r.status ?? null),
    timestamp: isoString(r.timestamp),
    unsatisfiedLevels: r.unsatisfiedLevels,
    // Present only when set, so that records from before the column verify unchanged.
    ...(r.whatIfTime ? { whatIfTime: r.whatIfTime.toISOString() } : {}),
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

const UNSTORABLE = /[\u0000\ud800-\udfff]/;

/** `s` with NUL and lone surrogates replaced by U+FFFD (valid surrogate pairs are kept). */
function storable(s: string): string {
  return s.toWellFormed().replaceAll("\u0000", "\ufffd");
}

/**
 * The record with its request text made storable: it reaches the log as the caller sent it, and
 * PostgreSQL text holds neither NUL nor lone surrogates — one such record would fail its whole
 * batch, and every retry of it. (The other fields are validated or come from the snapshot.)
 */
function storableRecord(r: DataAccessRecord): DataAccessRecord {
  if (!(UNSTORABLE.test(r.host ?? "") || UNSTORABLE.test(r.path ?? "") || UNSTORABLE.test(r.resourceName) || UNSTORABLE.test(r.status?.message ?? ""))) return r;
  return {
    ...r,
    host: r.host === null ? null : storable(r.host),
    path: r.path === null ? null : storable(r.path),
    resourceName: storable(r.resourceName),
    status: r.status === null ? null : { ...r.status, message: storable(r.status.message) },
  };
}

export const FLUSH_MS = 100;
export const BATCH_SIZE = 250;
const HASH_SLICE = 100;
const INSERT_BATCH = `
  INSERT INTO "DataAccessLog" ("decisionId", "timestamp", "principal", "resourceName", "permission", "granted", "reason",
    "callerIp", "host", "path", "method", "accessLevels", "unsatisfiedLevels", "decidedBy", "revision", "latencyUs",
    "proxyCredentialId", "status", "whatIfTime", "regionCode", "prevHash", "hash")
  SELECT "decisionId", "timestamp", "principal", "resourceName", "permission", "granted", "reason",
    "callerIp", "host", "path", "method", "accessLevels", "unsatisfiedLevels", "decidedBy", "revision", "latencyUs",
    "proxyCredentialId", "status", "whatIfTime", "regionCode", "prevHash", "hash"
  FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS ("decisionId" text, "timestamp" timestamp(3), "principal" text,
    "resourceName" text, "permission" text, "granted" boolean, "reason" text, "callerIp" text, "host" text, "path" text,
    "method" text, "accessLevels" text[], "unsatisfiedLevels" text[], "decidedBy" jsonb, "revision" bigint, "latencyUs" integer,
    "proxyCredentialId" text, "status" jsonb, "whatIfTime" timestamp(3), "regionCode" text, "prevHash" text, "hash" text)) WITH ORDINALITY AS r
  ORDER BY r.ordinality`;
const DRAIN_MS = 5000;
/** Spool batches written per flush while draining. */
const DRAIN_BATCHES = 20;
const SPOOL_CHUNK = 1 << 20;
const SPOOL_FILE = "data-access.ndjson";

export interface DecisionLogStats {
  recorded: number;
  written: number;
  spooled: number;
  /** Spool lines that could not be read back (a crash in the middle of an append). */
  corrupt: number;
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
  private stats = { recorded: 0, written: 0, spooled: 0, corrupt: 0 };
  /** Bytes at the start of the spool file that this process has written to the database. */
  private spoolOffset = 0;
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
    this.queue.push(storableRecord(r));
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
    if (fs.existsSync(this.spoolPath)) {
      // Spooled records are older than queued ones: while a spool exists, new records go behind
      // it (memory stays bounded however long the outage was), and the spool drains in order.
      this.spool(this.queue.splice(0));
      try {
        await this.drainSpool();
        this.lastError = null;
      } catch (e) {
        this.lastError = e instanceof Error ? e.message : String(e);
      }
      return;
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

  /** Appends records to the spool file, durably (fsync) — they are not in the database yet. */
  private spool(records: DataAccessRecord[]): void {
    if (!records.length) return;
    let text = records.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))).join("\n") + "\n";
    const fd = fs.openSync(this.spoolPath, "a+", 0o600);
    try {
      // A crash in the middle of an earlier append can leave a partial last line: end it, so
      // that it stays one unreadable line instead of corrupting the first record appended now.
      const size = fs.fstatSync(fd).size;
      if (size > 0) {
        const last = Buffer.alloc(1);
        fs.readSync(fd, last, 0, 1, size - 1);
        if (last[0] !== 0x0a) text = "\n" + text;
      }
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    this.stats.spooled += records.length;
  }

  /**
   * Writes the spool to the database, batch by batch from where this process got to, up to
   * DRAIN_BATCHES per flush (a long outage drains over many flushes, not in one stall), and
   * removes it once all of it is written. A restart drains from the start again: the batches
   * skip records already written (`dedupe`). Lines that do not parse (a crash mid-append) are
   * counted in `corrupt` and skipped.
   */
  private async drainSpool(): Promise<void> {
    const fd = fs.openSync(this.spoolPath, "r");
    try {
      for (let n = 0; n < DRAIN_BATCHES; n++) {
        const { records, next, eof } = readSpool(fd, this.spoolOffset, BATCH_SIZE);
        this.stats.corrupt += records.corrupt;
        if (records.valid.length) await this.write(records.valid, true);
        this.spoolOffset = next;
        if (eof) {
          fs.rmSync(this.spoolPath);
          this.spoolOffset = 0;
          return;
        }
      }
    } finally {
      fs.closeSync(fd);
    }
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

/**
 * Up to `max` records from the spool file at byte `offset`: whole lines only; `next` is the
 * offset after the last line consumed, `eof` whether that is the end of the file.
 */
function readSpool(fd: number, offset: number, max: number): { records: { valid: DataAccessRecord[]; corrupt: number }; next: number; eof: boolean } {
  const size = fs.fstatSync(fd).size;
  const valid: DataAccessRecord[] = [];
  let corrupt = 0;
  let pos = offset;
  let carry = Buffer.alloc(0);
  while (valid.length + corrupt < max && pos < size) {
    const chunk = Buffer.alloc(Math.min(SPOOL_CHUNK, size - pos));
    fs.readSync(fd, chunk, 0, chunk.length, pos);
    const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    const start = pos - carry.length;
    pos += chunk.length;
    let lineStart = 0;
    let nl: number;
    while (valid.length + corrupt < max && (nl = buf.indexOf(0x0a, lineStart)) !== -1) {
      const line = buf.toString("utf8", lineStart, nl);
      lineStart = nl + 1;
      if (!line) continue;
      const r = parseSpoolLine(line);
      if (r) valid.push(r);
      else corrupt++;
    }
    if (valid.length + corrupt >= max) return { records: { valid, corrupt }, next: start + lineStart, eof: start + lineStart >= size };
    carry = buf.subarray(lineStart);
  }
  // A last line without its newline was cut short by a crash (appends are whole within a process).
  if (carry.length) corrupt++;
  return { records: { valid, corrupt }, next: size, eof: true };
}

function parseSpoolLine(line: string): DataAccessRecord | null {
  try {
    const o = JSON.parse(line) as Omit<DataAccessRecord, "timestamp" | "revision" | "whatIfTime" | "regionCode"> & {
      timestamp: string;
      revision: string;
      whatIfTime?: string | null;
      regionCode?: string | null;
    };
    const timestamp = new Date(o.timestamp);
    const whatIfTime = typeof o.whatIfTime === "string" ? new Date(o.whatIfTime) : null;
    if (typeof o.decisionId !== "string" || Number.isNaN(timestamp.getTime()) || (whatIfTime && Number.isNaN(whatIfTime.getTime()))) return null;
    // Spools written before a record was made storable are made so on the way back.
    return storableRecord({ ...o, timestamp, revision: BigInt(o.revision), whatIfTime, regionCode: o.regionCode ?? null });
  } catch {
    return null;
  }
}
