// Shipping the data-access stream to a log pipeline (Vector, Fluent Bit, Loki, BigQuery…): every
// decision record as one NDJSON line, the same Cloud Audit Log entry the Audit API and its export
// answer (entry.ts). Configured by GATEHOUSE_AUDIT_SINK (lib/env.ts); docs/audit-pipeline.md.
//
// Off the hot path like the database writer: `push` only queues; every FLUSH_MS (and at close) the
// queue is mapped and appended in one write. A file is opened for each append, so a pipeline that
// rotates it by renaming (logrotate, Vector's file source) never loses lines to a stale descriptor.
import fs from "node:fs";
import path from "node:path";
import { dataAccessEntryJson, type DataAccessRow } from "./entry";

export type AuditSinkTarget = { kind: "stdout" } | { kind: "file"; path: string };

/** `stdout` or `file:PATH` (GATEHOUSE_AUDIT_SINK); undefined for anything else. */
export function parseSinkTarget(value: string): AuditSinkTarget | undefined {
  if (value === "stdout") return { kind: "stdout" };
  if (value.startsWith("file:") && value.length > 5) return { kind: "file", path: value.slice(5) };
  return undefined;
}

const FLUSH_MS = 100;
/** Lines per write while catching up (one write is one syscall and one buffer). */
const CHUNK = 1000;

export class NdjsonSink {
  private queue: DataAccessRow[] = [];
  private readonly timer: NodeJS.Timeout;
  private shipped = 0;
  private lastError: string | null = null;

  constructor(private readonly target: AuditSinkTarget) {
    if (target.kind === "file") fs.mkdirSync(path.dirname(path.resolve(target.path)), { recursive: true });
    this.timer = setInterval(() => this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  /** Hot path: O(1), no I/O. */
  push(r: DataAccessRow): void {
    this.queue.push(r);
  }

  getStats(): { shipped: number; pending: number; lastError: string | null } {
    return { shipped: this.shipped, pending: this.queue.length, lastError: this.lastError };
  }

  /** Writes what is queued; on failure the records stay queued and the next flush tries again. */
  flush(): void {
    while (this.queue.length) {
      const batch = this.queue.slice(0, CHUNK);
      const text = batch.map((r) => `${dataAccessEntryJson(r)}\n`).join("");
      try {
        if (this.target.kind === "stdout") process.stdout.write(text);
        else fs.appendFileSync(this.target.path, text, { mode: 0o600 });
      } catch (e) {
        this.lastError = e instanceof Error ? e.message : String(e);
        return;
      }
      this.queue.splice(0, batch.length);
      this.shipped += batch.length;
      this.lastError = null;
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }
}
