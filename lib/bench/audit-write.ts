/**
 * Benchmark of the data-access writer alone (not a test): CPU per record, in this process and in
 * PostgreSQL, for the writer as shipped and for alternatives (issue 13, item 7).
 *   npm run bench:audit-write      BENCH_AUDIT_WRITE_RECORDS (default 100,000) per run
 * BENCH_AUDIT_WRITE_SQL: statements (';'-separated) run before a second variant, to price a schema
 * change — e.g. `CREATE INDEX ON "DataAccessLog" ("permission", "timestamp")`.
 */
import path from "node:path";
import { treeCpuMs } from "./cpu";
import { withBenchDatabase } from "./pg";
import { newDecisionId, type DataAccessRecord } from "@/lib/audit/decisions";

process.env.GATEHOUSE_AUDIT_KEY ??= "bench-audit-key-0123456789abcdef0123456789";

async function main(): Promise<void> {
  const N = Number(process.env.BENCH_AUDIT_WRITE_RECORDS ?? 100_000);
  const { DecisionLog } = await import("@/lib/audit/decisions");
  const start = Date.now();
  await withBenchDatabase("audit-write", async ({ url, sql, postmaster, dir }) => {
    const principals = Array.from({ length: 1000 }, (_, i) => `user:u${i}@example.com`);
    const resources = Array.from({ length: 50 }, (_, i) => `projects/p${i % 10}/iap_web/compute/services/s${i}`);
    const extra = (process.env.BENCH_AUDIT_WRITE_SQL ?? "").split(";").map((x) => x.trim()).filter(Boolean);
    // Each variant runs on top of the one before (the schema changes accumulate), twice: the first
    // round warms up.
    const variants: Record<string, string[]> = {
      shipped: [],
      ...(extra.length ? { "with BENCH_AUDIT_WRITE_SQL": extra } : {}),
    };
    for (const [variant, setup] of Object.entries(variants)) {
      for (const s of setup) await sql.query(s);
      for (const name of [`${variant} (warm-up)`, variant]) {
      await sql.query(`TRUNCATE "DataAccessLog"; DELETE FROM "AuditChainHead"`);
      const log = new DecisionLog({ databaseUrl: url, spoolDir: path.join(dir, "spool") });
      // Made before the clock starts: the figures are the writer's (timestamps a second apart at
      // most, as at decision rates).
      const records: DataAccessRecord[] = Array.from({ length: N }, (_, i) => ({
          decisionId: newDecisionId(), timestamp: new Date(start + (i % 1000)), principal: principals[i % principals.length]!, resourceName: resources[i % resources.length]!,
          permission: "iap.webServiceVersions.accessViaIAP", granted: i % 10 !== 0, reason: i % 10 !== 0 ? "GRANTED" : "NO_MATCHING_BINDING",
          callerIp: "10.0.0.7", host: "app.example.test", path: "/docs/" + (i % 100), method: "GET", accessLevels: [], unsatisfiedLevels: [],
          decidedBy: i % 10 !== 0 ? { resource: resources[i % resources.length], role: "roles/iap.httpsResourceAccessor", member: principals[i % principals.length] } : null,
          revision: 42n, latencyUs: 35, proxyCredentialId: "pk_123", status: null, whatIfTime: null, regionCode: null, destination: null,
        }));
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const p0 = treeCpuMs(postmaster);
      const chunk = 10_000;
      for (let i = 0; i < N; i++) {
        log.record(records[i]!);
        if (i % chunk === chunk - 1) await log.flush();
      }
      await log.flush();
      const c1 = process.cpuUsage(c0);
      const pgMs = treeCpuMs(postmaster) - p0;
      const wall = performance.now() - t0;
      const stats = log.getStats();
      await log.stop();
      if (stats.written !== N) throw new Error(`${name}: wrote ${stats.written} of ${N}: ${stats.lastError}`);
      const nodeUs = ((c1.user + c1.system) / N);
      console.log(`  ${name.padEnd(40)} node ${nodeUs.toFixed(1).padStart(5)} µs/record   PostgreSQL ${((pgMs * 1000) / N).toFixed(1).padStart(5)} µs/record   wall ${((wall * 1000) / N).toFixed(1)} µs/record`);
      }
    }
  });
}

await main();
