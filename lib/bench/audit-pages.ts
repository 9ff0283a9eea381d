/**
 * Benchmark of the audit trail's read side (not a test): pages over BENCH_AUDIT_RECORDS (default
 * 1,000,000) data-access records, through the function the Audit API and the console call
 * (lib/audit/search.ts listAuditLogs) — the first page, a deep page, and each filter. Target: every
 * query ≤ 200 ms. Part of `npm run bench:audit` (issue 13); on its own:
 *
 *   tsx lib/bench/audit-pages.ts        (an ephemeral embedded PostgreSQL of its own)
 *
 * The records are generated in SQL (generate_series), not through the writer: this measures
 * reading. Their hashes are placeholders (a chain verify of this database fails, by design).
 */
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { PrismaClient } from "@/lib/generated/prisma/client";
import type { AdminContext } from "@/lib/admin/context";
import { compile, type HierarchyNode } from "@/lib/policy";
import { listAuditLogs, pageTokenAfter, ZAuditListQuery } from "@/lib/audit/search";

const PROJECTS = 20;
const SERVICES_PER_PROJECT = 10;
const USERS = 10_000;
const DAYS = 30;

/**
 * Fills `DataAccessLog` with `n` decisions: 70 % spread over DAYS days, and the newest 30 % a busy
 * last hour of ordinary traffic (web passage, granted or NO_MATCHING_BINDING) — so that a filter
 * for something rare (a tunnel permission, CONDITION_NOT_MET) cannot find its page by reading
 * back in time: it must skip 300,000 newer records, as after a day of load.
 */
async function fill(prisma: PrismaClient, n: number): Promise<void> {
  const spread = Math.floor(n * 0.7);
  const burst = n - spread;
  await prisma.$executeRawUnsafe(`
    INSERT INTO "DataAccessLog" ("decisionId", "timestamp", "principal", "resourceName", "permission", "granted", "reason",
      "callerIp", "host", "path", "method", "accessLevels", "unsatisfiedLevels", "decidedBy", "revision", "latencyUs", "prevHash", "hash")
    SELECT gen_random_uuid()::text,
      (now() AT TIME ZONE 'UTC') - interval '1 hour' - make_interval(secs => (${spread} - i) * (${DAYS} * 86400.0 / ${spread})),
      'user:u' || (i::bigint * 7919 % ${USERS}) || '@example.com',
      'projects/p' || (i % ${PROJECTS}) || '/iap_web/compute/services/s' || (i / ${PROJECTS} % ${SERVICES_PER_PROJECT}),
      CASE WHEN i % 100 = 0 THEN 'iap.tunnelInstances.accessViaIAP' ELSE 'iap.webServiceVersions.accessViaIAP' END,
      i % 10 <> 0,
      CASE WHEN i % 10 <> 0 THEN 'GRANTED' WHEN i % 30 = 0 THEN 'CONDITION_NOT_MET' ELSE 'NO_MATCHING_BINDING' END,
      '203.0.113.' || (i % 250), 'app' || (i % ${PROJECTS}) || '.example.test', '/docs/' || (i % 1000), 'GET',
      '{}', '{}', NULL, 1, 120, '', md5(i::text)
    FROM generate_series(1, ${spread}) AS i`);
  await prisma.$executeRawUnsafe(`
    INSERT INTO "DataAccessLog" ("decisionId", "timestamp", "principal", "resourceName", "permission", "granted", "reason",
      "callerIp", "host", "path", "method", "accessLevels", "unsatisfiedLevels", "decidedBy", "revision", "latencyUs", "prevHash", "hash")
    SELECT gen_random_uuid()::text,
      (now() AT TIME ZONE 'UTC') - make_interval(secs => (${burst} - i) * (3600.0 / ${burst})),
      'user:u' || (i::bigint * 7919 % ${USERS}) || '@example.com',
      'projects/p' || (i % ${PROJECTS}) || '/iap_web/compute/services/s' || (i / ${PROJECTS} % ${SERVICES_PER_PROJECT}),
      'iap.webServiceVersions.accessViaIAP', i % 5 <> 0, CASE WHEN i % 5 <> 0 THEN 'GRANTED' ELSE 'NO_MATCHING_BINDING' END,
      '203.0.113.' || (i % 250), 'app' || (i % ${PROJECTS}) || '.example.test', '/docs/' || (i % 1000), 'GET',
      '{}', '{}', NULL, 1, 120, '', md5((${spread} + i)::text)
    FROM generate_series(1, ${burst}) AS i`);
  await prisma.$executeRawUnsafe(`ANALYZE "DataAccessLog"`);
}

/** The generated records' hierarchy, with user:auditor@example.com a Private Logs Viewer on projects/p3. */
function scopedEngine(): NonNullable<AdminContext["engine"]> {
  const org = "organizations/1";
  const nodes: HierarchyNode[] = [{ name: org, parent: null }];
  for (let p = 0; p < PROJECTS; p++) {
    nodes.push({ name: `projects/p${p}`, parent: org });
    for (let s = 0; s < SERVICES_PER_PROJECT; s++) nodes.push({ name: `projects/p${p}/iap_web/compute/services/s${s}`, parent: `projects/p${p}` });
  }
  const snapshot = compile({ nodes, policies: [{ resource: "projects/p3", bindings: [{ role: "roles/logging.privateLogViewer", members: ["user:auditor@example.com"] }] }] }, 1);
  const state = { snapshot, side: { audiences: new Map<string, string>(), principalIds: new Map<string, string>() }, owners: [], revision: 1n };
  return { current: () => state, bootstrapAdmins: [], waitFor: () => Promise.resolve(true) };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

export interface AuditPagesResult {
  page_ms_p99: number;
  queries: Record<string, { p50: number; p99: number; entries: number }>;
}

/**
 * Fills the database behind `prisma` with `records` data-access records (unless `fill: false`) and
 * times pages of 100 through listAuditLogs, `runs` times each; prints one line per query.
 */
export async function benchAuditPages(opts: { prisma: PrismaClient; records?: number; runs?: number; fill?: boolean; log?: (s: string) => void }): Promise<AuditPagesResult> {
  const log = opts.log ?? ((s: string) => console.log(s));
  const records = opts.records ?? 1_000_000;
  const runs = opts.runs ?? 20;
  const prisma = opts.prisma;
  if (opts.fill !== false) {
    const t0 = performance.now();
    await fill(prisma, records);
    log(`  audit pages: ${records.toLocaleString("en")} data-access records generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  // An instance-wide reader (as an organization owner is): no scope condition, every filter.
  const admin: AdminContext = { db: prisma, actor: { kind: "system", name: "system:bench" }, instance: { authSecret: "bench-only-secret-0123456789abcdef0123", publicUrl: "http://bench.invalid" } };
  const day = new Date(Date.now() - 15 * 86_400_000);
  const deep = await prisma.$queryRawUnsafe<{ timestamp: Date; seq: bigint }[]>(
    `SELECT "timestamp", "seq" FROM "DataAccessLog" ORDER BY "timestamp" DESC, "seq" DESC OFFSET ${Math.floor(records * 0.9)} LIMIT 1`,
  );
  const someId = await prisma.$queryRawUnsafe<{ decisionId: string }[]>(`SELECT "decisionId" FROM "DataAccessLog" WHERE seq = ${Math.floor(records / 3)}`);
  const base = { stream: "data_access" };
  const queries: Record<string, Record<string, string>> = {
    "first page": base,
    "deep page (90% back)": { ...base, pageToken: deep[0] ? pageTokenAfter(admin, ZAuditListQuery.parse(base), deep[0]) : "" },
    principal: { ...base, principal: "user:u4242@example.com" },
    "resource (a service)": { ...base, resource: "projects/p3/iap_web/compute/services/s7" },
    "resource (a project and below)": { ...base, resource: "projects/p3" },
    "resource (no records: a retired service)": { ...base, resource: "projects/p3/iap_web/compute/services/retired" },
    permission: { ...base, permission: "iap.tunnelInstances.accessViaIAP" },
    "granted=false": { ...base, granted: "false" },
    "reason=CONDITION_NOT_MET": { ...base, reason: "CONDITION_NOT_MET" },
    "method=ListLogEntries (none match)": { ...base, method: "ListLogEntries" },
    "one day (startTime, endTime)": { ...base, startTime: day.toISOString(), endTime: new Date(day.getTime() + 86_400_000).toISOString() },
    "q (text: the start of an email)": { ...base, q: "u4242@" },
    "q (text: a resource name)": { ...base, q: "projects/p3/iap_web/compute/services/s7" },
    "q (text: an insertId)": { ...base, q: someId[0]?.decisionId ?? "" },
    "q (text: matches nothing)": { ...base, q: "nobody.at.all" },
    "principal + granted=false + a week": { ...base, principal: "user:u4242@example.com", granted: "false", startTime: new Date(Date.now() - 7 * 86_400_000).toISOString() },
  };
  // A reader scoped to one project (Private Logs Viewer on it): the scope condition on every read.
  const auditor: AdminContext = { ...admin, actor: { kind: "principal", principal: "user:auditor@example.com" }, engine: scopedEngine() };
  const scoped: Record<string, Record<string, string>> = {
    "scoped to a project: first page": base,
    "scoped to a project: q (an email)": { ...base, q: "u3757@" },
  };
  const out: AuditPagesResult["queries"] = {};
  const all: number[] = [];
  for (const [name, q] of [...Object.entries(queries), ...Object.entries(scoped)]) {
    const ctx = name in scoped ? auditor : admin;
    const query = ZAuditListQuery.parse(q);
    const samples: number[] = [];
    let entries = 0;
    for (let i = 0; i < runs + 2; i++) {
      const t0 = performance.now();
      const r = await listAuditLogs(ctx, query);
      const dt = performance.now() - t0;
      entries = r.entries.length;
      if (i >= 2) samples.push(dt); // two warm-up runs
    }
    samples.sort((a, b) => a - b);
    all.push(...samples);
    out[name] = { p50: percentile(samples, 50), p99: percentile(samples, 99), entries };
    log(`  ${name.padEnd(44)} p50 ${percentile(samples, 50).toFixed(1).padStart(6)} ms   p99 ${percentile(samples, 99).toFixed(1).padStart(6)} ms   (${entries} entries)`);
  }
  all.sort((a, b) => a - b);
  return { page_ms_p99: Number(percentile(all, 99).toFixed(1)), queries: out };
}

async function main(): Promise<void> {
  const { ensureEmbeddedPostgres } = await import("@/lib/db/embedded");
  const { applyMigrations } = await import("@/lib/db/migrate");
  const { createPrismaClient } = await import("@/lib/db/client");
  const pgDir = await fsp.mkdtemp(path.join(os.tmpdir(), "gatehouse-bench-audit-pages-"));
  const pg = await ensureEmbeddedPostgres({ dataDir: pgDir, database: "bench", ephemeral: true });
  try {
    await applyMigrations(pg.url);
    const prisma = createPrismaClient(pg.url);
    try {
      const records = Number(process.env.BENCH_AUDIT_RECORDS ?? 1_000_000);
      console.log(`bench audit pages: pages of 100 over ${records.toLocaleString("en")} data-access records (target ≤ 200 ms each)`);
      const r = await benchAuditPages({ prisma, records });
      console.log(JSON.stringify({ bench: "audit-pages", records, page_ms_p99: r.page_ms_p99 }));
    } finally {
      await prisma.$disconnect();
    }
  } finally {
    await pg.stop();
    await fsp.rm(pgDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.dirname, "audit-pages.ts")) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
