// Data-access audit records (Cloud Audit Log "AuthorizeUser" entries): one per decision.
// Written off the hot path: `record()` only appends to memory; a flush every FLUSH_MS (or when
// BATCH_SIZE records are waiting) writes one batch in one transaction, extending the hash chain.
// Never lost: when the database cannot be written, the batch is appended to a spool file
// (fsync'd) under the data directory and drained back, in order, once the database is back.
// When the spool cannot be written either (disk full), the records stay in memory and the log
// stops `accepting()`: the decision endpoints answer 503 until one of the two can be written.
// A SIGKILL loses what is in memory: at most the last FLUSH_MS of records plus a batch in flight.
import fs from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { v7 as uuidv7 } from "uuid";
import { auditKeys, chainHashText } from "./chain";
import { isoTime, sortedKeys } from "./entry";
import type { NdjsonSink } from "./sink";

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
  /** A tunnel check's target (request.destination); null when none was given. */
  destination: { ip?: string; port?: number } | null;
}

/**
 * A new decision's id (its data-access entry's insertId): a UUIDv7 (RFC 9562), time-ordered, so
 * that the ids written in a batch land together at the end of the decisionId index — a random v4
 * lands on a random page of it: ~20 % more database CPU per record (lib/bench/audit-write.ts),
 * and random I/O once the index outgrows memory.
 */
export function newDecisionId(): string {
  return uuidv7();
}

/** A record as read back from the database (JSON columns untyped). */
export type StoredDataAccess = Omit<DataAccessRecord, "decidedBy" | "status" | "destination"> & { decidedBy: unknown; status: unknown; destination: unknown };

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
    // Present only when set, like whatIfTime.
    ...(r.destination ? { destination: sortedKeys(r.destination) } : {}),
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
    timestamp: isoTime(r.timestamp),
    unsatisfiedLevels: r.unsatisfiedLevels,
    // Present only when set, so that records from before the column verify unchanged.
    ...(r.whatIfTime ? { whatIfTime: r.whatIfTime.toISOString() } : {}),
  });
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
/**
 * Up to 10,000 decisions a second a batch is what one FLUSH_MS brought. A COPY costs PostgreSQL
 * ~1.8 ms whatever its size (then ~18 µs a row): 1,000-record batches cost it 21–24 µs a record
 * against 29–33 µs for 250 (lib/bench/audit-write.ts).
 */
export const BATCH_SIZE = 1000;
const HASH_SLICE = 100;
const COLUMNS = `"decisionId", "timestamp", "principal", "resourceName", "permission", "granted", "reason", "callerIp", "host", "path",
  "method", "accessLevels", "unsatisfiedLevels", "decidedBy", "revision", "latencyUs", "proxyCredentialId", "status", "whatIfTime",
  "regionCode", "destination", "prevHash", "hash"`;
/** A batch's records, in chain order: COPY assigns seq in the order of its lines. */
const COPY_BATCH = `COPY "DataAccessLog" (${COLUMNS}) FROM STDIN`;
/** Creates the chain head if missing, locks it (for the batch's transaction) and reads it: one round trip. */
const LOCK_HEAD = `INSERT INTO "AuditChainHead" (stream) VALUES ('data_access')
  ON CONFLICT (stream) DO UPDATE SET stream = EXCLUDED.stream RETURNING "lastHash"`;
/** The head after the batch: currval is the seq COPY gave its last line. */
const MOVE_HEAD = `UPDATE "AuditChainHead" SET "lastHash" = $1, "lastSeq" = currval(pg_get_serial_sequence('"DataAccessLog"', 'seq')),
  "recordCount" = "recordCount" + $2 WHERE stream = 'data_access'`;

// PostgreSQL's COPY text format (not CSV): columns split by tabs, \N for NULL, and backslash,
// tab, newline and carriage return escaped with a backslash.
const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_SPECIALS = /[\\\t\n\r]/g;
const COPY_ESCAPES: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };
function copyText(s: string | null): string {
  if (s === null) return "\\N";
  return COPY_SPECIAL.test(s) ? s.replace(COPY_SPECIALS, (c) => COPY_ESCAPES[c]!) : s;
}
/** A text[] literal (elements quoted, `"` and `\` escaped), then escaped for COPY. */
function copyArray(a: readonly string[]): string {
  return a.length ? copyText(`{${a.map((x) => `"${x.replace(/["\\]/g, (c) => `\\${c}`)}"`).join(",")}}`) : "{}";
}
function copyJson(v: unknown): string {
  return v === null || v === undefined ? "\\N" : copyText(JSON.stringify(v));
}

/** One COPY line: the record's columns in COLUMNS order. */
function copyLine(r: DataAccessRecord, prevHash: string, hash: string): string {
  return [
    copyText(r.decisionId), isoTime(r.timestamp), copyText(r.principal), copyText(r.resourceName), copyText(r.permission),
    r.granted ? "t" : "f", copyText(r.reason), copyText(r.callerIp), copyText(r.host), copyText(r.path), copyText(r.method),
    copyArray(r.accessLevels), copyArray(r.unsatisfiedLevels), copyJson(r.decidedBy), r.revision.toString(), String(r.latencyUs),
    copyText(r.proxyCredentialId), copyJson(r.status), r.whatIfTime ? r.whatIfTime.toISOString() : "\\N", copyText(r.regionCode), copyJson(r.destination), prevHash, hash,
  ].join("\t");
}
const DRAIN_MS = 5000;
/** Spool batches written per flush while draining (5,000 records: a flush stays short). */
const DRAIN_BATCHES = 5;
const SPOOL_CHUNK = 1 << 20;
const SPOOL_FILE = "data-access.ndjson";

export interface DecisionLogStats {
  recorded: number;
  /** Records written to PostgreSQL (from memory or drained from the spool). */
  written: number;
  /** Records appended to the spool file (PostgreSQL could not be written). */
  spooled: number;
  /**
   * Records known lost: spool lines that could not be read back (an append cut short by a crash).
   * Stays 0 unless the process died in the middle of a spool write.
   */
  dropped: number;
  /** In memory, not yet durable anywhere. */
  pending: number;
  /** The spool cannot be written (disk full…) while records wait: decisions fail closed. */
  spoolFailing: boolean;
  spoolFile: string;
  lastError: string | null;
}

export interface DecisionLogOptions {
  databaseUrl: string;
  spoolDir: string;
  /** Where state changes are reported (start and end of failing closed). Default: console.error. */
  log?: (message: string) => void;
  /**
   * Count records and keep none: ONLY for the baseline of `npm run bench:audit` (the server's
   * --bench-no-audit flag), which measures what recording costs.
   */
  discard?: boolean;
  /** GATEHOUSE_AUDIT_SINK: also ship every record as a Cloud Audit Log NDJSON line (sink.ts). */
  sink?: NdjsonSink;
  /** GATEHOUSE_AUDIT_STORE_DATA_ACCESS=false: the sink is the only copy (nothing queued for PostgreSQL). */
  store?: boolean;
}

export class DecisionLog {
  private queue: DataAccessRecord[] = [];
  private flushing: Promise<void> | null = null;
  private nextFlush: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private drainTimer: NodeJS.Timeout | null = null;
  private readonly spoolPath: string;
  private stats = { recorded: 0, written: 0, spooled: 0, dropped: 0 };
  /** Bytes at the start of the spool file that this process has written to the database. */
  private spoolOffset = 0;
  private lastError: string | null = null;
  /** Why the spool cannot be written; set while records wait that are durable nowhere. */
  private spoolError: string | null = null;
  private stopped = false;
  private readonly discard: boolean;
  private readonly report: (message: string) => void;

  /**
   * The writer's own connection (not the Prisma client's): a batch is one parameter of ~1 KB per
   * record, and Prisma's raw-query path inspects every parameter on the event loop.
   */
  private readonly pool: pg.Pool;

  /** Shipping to a log pipeline (sink.ts), and whether records are also stored in PostgreSQL. */
  private readonly sink: NdjsonSink | undefined;
  private readonly store: boolean;

  constructor(opts: DecisionLogOptions) {
    this.sink = opts.sink;
    this.store = opts.store ?? true;
    fs.mkdirSync(opts.spoolDir, { recursive: true });
    this.spoolPath = path.join(opts.spoolDir, SPOOL_FILE);
    this.report = opts.log ?? ((m) => console.error(m));
    this.discard = opts.discard ?? false;
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

  /**
   * Whether a decision may be answered: false while records cannot be made durable (PostgreSQL
   * and the spool both failing) — Gatehouse then refuses to answer rather than answer unrecorded.
   */
  accepting(): boolean {
    return this.spoolError === null;
  }

  /** Hot path: O(1), no I/O — except after stop(), when the record is spooled at once. */
  record(r: DataAccessRecord): void {
    this.stats.recorded++;
    if (this.discard) return;
    if (this.sink) {
      this.sink.push(r);
      if (!this.store) return;
    }
    this.queue.push(storableRecord(r));
    if (this.stopped) this.spoolQueue();
    else if (this.queue.length >= BATCH_SIZE) void this.flush();
  }

  getStats(): DecisionLogStats {
    return { ...this.stats, pending: this.queue.length, spoolFailing: this.spoolError !== null, spoolFile: this.spoolPath, lastError: this.lastError };
  }

  /**
   * Writes what is queued at the time of the call (and anything spooled before it). A call while a
   * flush runs waits for that one and then one more, which all such calls share. The sink's queue
   * is written too (synchronously), so after a flush both destinations hold every record.
   */
  flush(): Promise<void> {
    this.sink?.flush();
    if (!this.flushing) {
      this.flushing = this.doFlush().finally(() => (this.flushing = null));
      return this.flushing;
    }
    this.nextFlush ??= this.flushing.then(() => {
      this.nextFlush = null;
      return this.flush();
    });
    return this.nextFlush;
  }

  /**
   * Stops the timers and writes everything queued to PostgreSQL, else to the spool. Records that
   * arrive afterwards (requests still in flight) are spooled one by one as they come.
   */
  async stop(): Promise<void> {
    this.sink?.close();
    if (this.timer) clearInterval(this.timer);
    if (this.drainTimer) clearInterval(this.drainTimer);
    await this.flush();
    if (this.queue.length) await this.flush();
    this.stopped = true;
    this.spoolQueue();
    if (this.queue.length) {
      // Neither PostgreSQL nor the disk took them, and the process is going away.
      this.stats.dropped += this.queue.length;
      this.report(`audit: ${this.queue.length} data-access records could not be written at shutdown (${this.spoolError ?? this.lastError})`);
    }
    await this.pool.end().catch(() => {});
  }

  private async doFlush(): Promise<void> {
    if (fs.existsSync(this.spoolPath)) {
      // Spooled records are older than queued ones: while a spool exists, new records go behind
      // it (memory stays bounded however long the outage was), and the spool drains in order.
      this.spoolQueue();
      try {
        if (!(await this.drainSpool())) return;
        this.lastError = null;
      } catch (e) {
        this.lastError = e instanceof Error ? e.message : String(e);
        return;
      }
    }
    while (this.queue.length) {
      const batch = this.queue.slice(0, BATCH_SIZE);
      try {
        await this.write(batch);
        this.queue.splice(0, batch.length);
        this.lastError = null;
      } catch (e) {
        this.lastError = e instanceof Error ? e.message : String(e);
        this.spoolQueue();
        return;
      }
    }
    // Everything reached PostgreSQL: nothing waits on the spool any more.
    if (!fs.existsSync(this.spoolPath)) this.setSpoolError(null);
  }

  /**
   * Moves the queue to the spool file, durably (fsync). When that fails (disk full, read-only…)
   * the records stay queued, the file is cut back to where it was (no half-written records), and
   * decisions fail closed until a spool write or a database write succeeds.
   */
  private spoolQueue(): void {
    if (!this.queue.length) return;
    let text = this.queue.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))).join("\n") + "\n";
    let fd: number | undefined;
    let size = 0;
    try {
      fd = fs.openSync(this.spoolPath, "a+", 0o600);
      // A crash in the middle of an earlier append can leave a partial last line: end it, so
      // that it stays one unreadable line instead of corrupting the first record appended now.
      size = fs.fstatSync(fd).size;
      if (size > 0) {
        const last = Buffer.alloc(1);
        fs.readSync(fd, last, 0, 1, size - 1);
        if (last[0] !== 0x0a) text = "\n" + text;
      }
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } catch (e) {
      if (fd !== undefined) {
        try {
          fs.ftruncateSync(fd, size);
        } catch {
          /* the next append ends any partial line; the records are still queued */
        }
      }
      this.setSpoolError(`cannot write the audit spool ${this.spoolPath}: ${e instanceof Error ? e.message : String(e)}`);
      return;
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
    this.stats.spooled += this.queue.length;
    this.queue = [];
    this.setSpoolError(null);
  }

  private setSpoolError(error: string | null): void {
    if (error !== null && this.spoolError === null) this.report(`audit: ${error}; decisions fail closed (503) until the audit log can be written`);
    if (error === null && this.spoolError !== null) this.report("audit: the audit log can be written again; decisions resume");
    this.spoolError = error;
  }

  /**
   * Writes the spool to the database, batch by batch from where this process got to, up to
   * DRAIN_BATCHES per flush (a long outage drains over many flushes, not in one stall), and
   * removes it once all of it is written (then returns true). A restart drains from the start
   * again: the batches skip records already written (`dedupe`). Lines that do not parse (a crash
   * mid-append) are counted in `dropped` and skipped.
   */
  private async drainSpool(): Promise<boolean> {
    const fd = fs.openSync(this.spoolPath, "r");
    try {
      for (let n = 0; n < DRAIN_BATCHES; n++) {
        const { records, next, eof } = readSpool(fd, this.spoolOffset, BATCH_SIZE);
        if (records.valid.length) await this.write(records.valid, true);
        this.stats.dropped += records.corrupt;
        this.spoolOffset = next;
        if (eof) {
          fs.rmSync(this.spoolPath);
          this.spoolOffset = 0;
          return true;
        }
      }
      return false;
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * One batch in one transaction, as one COPY (issue 13, item 7: half the database's CPU per
   * record of an INSERT … SELECT FROM jsonb_to_recordset, and a third of the bytes sent — measured
   * by lib/bench/audit-write.ts). Hashing yields to the event loop every HASH_SLICE records, so a
   * batch never stalls decisions. `dedupe`: skip records already written (a spool drained again
   * after a crash mid-drain).
   */
  private async write(batch: DataAccessRecord[], dedupe = false): Promise<void> {
    const key = auditKeys().chain;
    const client = await this.pool.connect();
    // The server may end the connection while it is checked out (between statements, while the
    // batch is hashed): without a listener that 'error' event would crash the process. The
    // statement under way fails, and the batch is spooled.
    const onError = (e: Error) => (this.lastError = e.message);
    client.on("error", onError);
    let fresh = batch;
    try {
      await client.query("BEGIN");
      if (dedupe) {
        const existing = await client.query<{ decisionId: string }>(`SELECT "decisionId" FROM "DataAccessLog" WHERE "decisionId" = ANY($1::text[])`, [batch.map((r) => r.decisionId)]);
        const skip = new Set(existing.rows.map((e) => e.decisionId));
        fresh = batch.filter((r) => !skip.has(r.decisionId));
      }
      if (fresh.length) {
        const head = await client.query<{ lastHash: string }>(LOCK_HEAD);
        let prevHash = head.rows[0]?.lastHash ?? "";
        const lines: string[] = [];
        for (const r of fresh) {
          const hash = chainHashText(prevHash, canonicalDataAccess(r), key);
          lines.push(copyLine(r, prevHash, hash));
          prevHash = hash;
          if (lines.length % HASH_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
        }
        const copy = client.query(copyFrom(COPY_BATCH));
        await pipeline(Readable.from([`${lines.join("\n")}\n`]), copy);
        await client.query(MOVE_HEAD, [prevHash, lines.length]);
      }
      await client.query("COMMIT");
      client.release();
    } catch (e) {
      await client.query("ROLLBACK").catch(() => {});
      client.release(e instanceof Error ? e : new Error(String(e))); // discard the connection
      throw e;
    } finally {
      client.off("error", onError);
    }
    this.stats.written += fresh.length;
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
    const o = JSON.parse(line) as Omit<DataAccessRecord, "timestamp" | "revision" | "whatIfTime" | "regionCode" | "destination"> & {
      timestamp: string;
      revision: string;
      whatIfTime?: string | null;
      regionCode?: string | null;
      destination?: DataAccessRecord["destination"];
    };
    const timestamp = new Date(o.timestamp);
    const whatIfTime = typeof o.whatIfTime === "string" ? new Date(o.whatIfTime) : null;
    if (typeof o.decisionId !== "string" || Number.isNaN(timestamp.getTime()) || (whatIfTime && Number.isNaN(whatIfTime.getTime()))) return null;
    // Spools written before a record was made storable are made so on the way back.
    return storableRecord({ ...o, timestamp, revision: BigInt(o.revision), whatIfTime, regionCode: o.regionCode ?? null, destination: o.destination ?? null });
  } catch {
    return null;
  }
}
