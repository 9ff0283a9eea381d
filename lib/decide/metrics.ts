// GET /metrics (Prometheus text format, prom-client): the decision audit log's counters — written,
// spooled, dropped (must stay 0) — its backlog and whether decisions are being answered, plus the
// process's default metrics. Counts only: nothing here names a host, principal, path or error.
import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import type { DecisionLog, DecisionLogStats } from "@/lib/audit/decisions";

export interface AuditMetrics {
  registry: Registry;
}

const byLog = new WeakMap<DecisionLog, AuditMetrics>();

/** The registry of one decision stack (one per DecisionLog, so that stacks in one process do not collide). */
export function auditMetrics(ctx: { log: DecisionLog }): AuditMetrics {
  let m = byLog.get(ctx.log);
  if (!m) {
    m = create(ctx.log);
    byLog.set(ctx.log, m);
  }
  return m;
}

function create(log: DecisionLog): AuditMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let stats: DecisionLogStats = log.getStats();
  // Each scrape reads the log's stats once; the collectors below report from that reading.
  const refresh = () => (stats = log.getStats());
  const counter = (name: string, help: string, value: (s: DecisionLogStats) => number, first = false) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        if (first) refresh();
        this.reset();
        this.inc(value(stats));
      },
    });
  counter("gatehouse_audit_records_recorded_total", "Data-access records handed to the audit log (decisions and refused calls).", (s) => s.recorded, true);
  counter("gatehouse_audit_records_written_total", "Data-access records written to PostgreSQL.", (s) => s.written);
  counter("gatehouse_audit_records_spooled_total", "Data-access records appended to the disk spool while PostgreSQL could not be written.", (s) => s.spooled);
  counter("gatehouse_audit_records_dropped_total", "Data-access records lost (unreadable spool lines after a crash mid-append). Must stay 0.", (s) => s.dropped);
  new Gauge({
    name: "gatehouse_audit_records_pending",
    help: "Data-access records in memory, not yet durable.",
    registers: [registry],
    collect() {
      this.set(stats.pending);
    },
  });
  new Gauge({
    name: "gatehouse_audit_accepting",
    help: "1 while decisions are answered; 0 while the audit log can be written neither to PostgreSQL nor to the spool (decisions fail closed with 503).",
    registers: [registry],
    collect() {
      this.set(stats.spoolFailing ? 0 : 1);
    },
  });
  return { registry };
}
