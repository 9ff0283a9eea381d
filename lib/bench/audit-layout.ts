/**
 * Study of an alternative storage layout for the data-access stream (not a test, not the product):
 * a record per BATCH — one row per writer batch holding its records' canonical JSON lines, the
 * batch's terms (principals, resource names, permissions, denial reasons, hosts) under one GIN
 * index, and one HMAC over the whole batch — against the shipped row per decision (issue 13,
 * item 7). `npm run bench:audit-layout`:
 *   1. Writing (BENCH_AUDIT_LAYOUT_RECORDS, default 100,000, twice: the first run warms up): CPU
 *      per record in this process and in PostgreSQL, the shipped writer (DecisionLog) and the
 *      candidate, alternately in the same minutes.
 *   2. Reading (BENCH_AUDIT_LAYOUT_PAGES=1): 1,000,000 records laid out as bench:audit-pages lays
 *      them out, in batches of 1,000; pages of 100 newest first for the filters bench:audit-pages
 *      times, read the way the candidate would: the batches holding a term, newest first, their
 *      lines split and prefiltered in PostgreSQL (string_to_table … LIKE), decoded and filtered
 *      exactly here. (Prefix search — q — would need a table of distinct terms; not measured.)
 */
import path from "node:path";
import { createHmac } from "node:crypto";
import type pg from "pg";
import { treeCpuMs } from "./cpu";
import { withBenchDatabase } from "./pg";
import { canonicalDataAccess, newDecisionId, type DataAccessRecord } from "@/lib/audit/decisions";
import { auditKeys } from "@/lib/audit/chain";

process.env.GATEHOUSE_AUDIT_KEY ??= "bench-audit-key-0123456789abcdef0123456789";

const BATCH = 1000;
const DDL = [
  `CREATE TABLE "DataAccessBatch" (seq bigserial PRIMARY KEY, "firstTs" timestamp(3) NOT NULL, "lastTs" timestamp(3) NOT NULL,
     n int NOT NULL, terms text[] NOT NULL, records bytea NOT NULL, "prevHash" text NOT NULL, hash text NOT NULL)`,
  `CREATE INDEX ON "DataAccessBatch" USING gin (terms)`,
  `CREATE INDEX ON "DataAccessBatch" ("lastTs")`,
];

/** The candidate writer: one INSERT per batch, the records as one binary parameter (no COPY escaping). */
async function writeBatches(sql: pg.Client, records: readonly DataAccessRecord[], prev: { hash: string }): Promise<void> {
  const key = auditKeys().chain;
  for (let off = 0; off < records.length; off += BATCH) {
    const end = Math.min(records.length, off + BATCH);
    const lines: string[] = new Array(end - off);
    const principals = new Set<string | null>(), resources = new Set<string>(), permissions = new Set<string>(), reasons = new Set<string>(), hosts = new Set<string | null>();
    let first = Infinity, last = -Infinity;
    for (let i = off; i < end; i++) {
      const r = records[i]!;
      lines[i - off] = canonicalDataAccess(r);
      principals.add(r.principal);
      resources.add(r.resourceName);
      permissions.add(r.permission);
      if (!r.granted) reasons.add(r.reason);
      hosts.add(r.host);
      const t = r.timestamp.getTime();
      if (t < first) first = t;
      if (t > last) last = t;
    }
    const terms: string[] = [];
    for (const p of principals) if (p) terms.push(`p:${p}`);
    for (const x of resources) terms.push(`r:${x}`);
    for (const x of permissions) terms.push(`m:${x}`);
    for (const x of reasons) terms.push(`x:${x}`);
    for (const h of hosts) if (h) terms.push(`h:${h}`);
    const payload = Buffer.from(lines.join("\n"));
    const hash = createHmac("sha256", key).update(`${prev.hash}\n`).update(payload).digest("hex");
    await sql.query(`INSERT INTO "DataAccessBatch" ("firstTs", "lastTs", n, terms, records, "prevHash", hash) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
      new Date(first).toISOString(), new Date(last).toISOString(), end - off, terms, payload, prev.hash, hash,
    ]);
    prev.hash = hash;
  }
}

function syntheticRecords(n: number): DataAccessRecord[] {
  const principals = Array.from({ length: 1000 }, (_, i) => `user:u${i}@example.com`);
  const resources = Array.from({ length: 50 }, (_, i) => `projects/p${i % 10}/iap_web/compute/services/s${i}`);
  const start = Date.now();
  // As lib/bench/audit-write.ts makes them: timestamps a second apart at most, as at decision rates.
  return Array.from({ length: n }, (_, i) => ({
    decisionId: newDecisionId(), timestamp: new Date(start + (i % 1000)), principal: principals[i % principals.length]!, resourceName: resources[i % resources.length]!,
    permission: "iap.webServiceVersions.accessViaIAP", granted: i % 10 !== 0, reason: i % 10 !== 0 ? "GRANTED" : "NO_MATCHING_BINDING",
    callerIp: "10.0.0.7", host: "app.example.test", path: "/docs/" + (i % 100), method: "GET", accessLevels: [], unsatisfiedLevels: [],
    decidedBy: i % 10 !== 0 ? { resource: resources[i % resources.length], role: "roles/iap.httpsResourceAccessor", member: principals[i % principals.length] } : null,
    revision: 42n, latencyUs: 35, proxyCredentialId: "pk_123", status: null, whatIfTime: null, regionCode: null, destination: null,
  }));
}

/** bench:audit-pages's 1,000,000 records (70 % over 30 days, 30 % a busy last hour), as batches of 1,000, in SQL. */
const FILL = `
  WITH r AS (
    SELECT i, date_trunc('milliseconds', CASE WHEN i <= 700000
        THEN (now() AT TIME ZONE 'UTC') - interval '1 hour' - make_interval(secs => (700000 - i) * (30 * 86400.0 / 700000))
        ELSE (now() AT TIME ZONE 'UTC') - make_interval(secs => (1000000 - i) * (3600.0 / 300000)) END) AS ts,
      'user:u' || (i::bigint * 7919 % 10000) || '@example.com' AS principal,
      'projects/p' || (i % 20) || '/iap_web/compute/services/s' || (i / 20 % 10) AS resource,
      CASE WHEN i <= 700000 AND i % 100 = 0 THEN 'iap.tunnelInstances.accessViaIAP' ELSE 'iap.webServiceVersions.accessViaIAP' END AS permission,
      CASE WHEN i <= 700000 THEN i % 10 <> 0 ELSE i % 5 <> 0 END AS granted,
      CASE WHEN i <= 700000 THEN (CASE WHEN i % 10 <> 0 THEN 'GRANTED' WHEN i % 30 = 0 THEN 'CONDITION_NOT_MET' ELSE 'NO_MATCHING_BINDING' END)
        ELSE (CASE WHEN i % 5 <> 0 THEN 'GRANTED' ELSE 'NO_MATCHING_BINDING' END) END AS reason,
      'app' || (i % 20) || '.example.test' AS host
    FROM generate_series(1, 1000000) AS i)
  INSERT INTO "DataAccessBatch" ("firstTs", "lastTs", n, terms, records, "prevHash", hash)
  SELECT min(ts), max(ts), count(*),
    array(SELECT DISTINCT unnest(array_agg('p:' || principal) || array_agg('r:' || resource) || array_agg('m:' || permission)
      || array_agg('h:' || host) || array_agg('x:' || reason) FILTER (WHERE NOT granted))),
    convert_to(string_agg(replace(json_build_object('accessLevels', '[]'::json, 'callerIp', '203.0.113.' || (i % 250), 'decidedBy', NULL,
      'decisionId', gen_random_uuid()::text, 'granted', granted, 'host', host, 'latencyUs', 120, 'method', 'GET', 'path', '/docs/' || (i % 1000),
      'permission', permission, 'principal', principal, 'proxyCredentialId', NULL, 'reason', reason, 'resourceName', resource, 'revision', '1',
      'status', NULL, 'timestamp', to_char(ts, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'unsatisfiedLevels', '[]'::json)::text, '" : ', '":'), E'\\n' ORDER BY i), 'UTF8'),
    '', md5(min(i)::text)
  FROM r GROUP BY (i - 1) / ${BATCH} ORDER BY (i - 1) / ${BATCH}`;

interface Line {
  timestamp: string;
  principal: string | null;
  resourceName: string;
  permission: string;
  granted: boolean;
  reason: string;
  decisionId: string;
}

/**
 * A page of `size` records newest first: the batches holding every term (newest first, `chunk`
 * at a time), their lines prefiltered by LIKE in PostgreSQL and tested exactly here. (The bench's
 * batches do not overlap in time; a product's would — a spool drained late — and need merging.)
 */
async function page(sql: pg.Client, q: { terms: string[]; like: string[]; test: (l: Line) => boolean; before?: string; after?: string; at?: string }, size: number): Promise<Line[]> {
  const out: Line[] = [];
  let cursor = q.before ?? "infinity";
  for (let chunk = 4; out.length < size; chunk = Math.min(chunk * 2, 64)) {
    const batches = `SELECT "lastTs", records FROM "DataAccessBatch"
         WHERE terms @> $1::text[] AND "lastTs" < $2::timestamp AND ($4::timestamp IS NULL OR "lastTs" >= $4::timestamp)
           AND ($5::timestamp IS NULL OR "firstTs" <= $5::timestamp)
         ORDER BY "lastTs" DESC LIMIT $3`;
    const params = [q.terms, cursor, chunk, q.after ?? q.at ?? null, q.at ?? null];
    // One row per matching line, and one (line null) per batch without any: the batches read tell
    // where the next chunk starts.
    const rows = await sql.query<{ lastTs: Date; line: string | null }>(
      `SELECT b."lastTs", l.line FROM (${batches}) b
       LEFT JOIN LATERAL (SELECT line FROM string_to_table(convert_from(b.records, 'UTF8'), E'\\n') AS line WHERE line LIKE ALL($6::text[])) l ON true`,
      [...params, q.like.length ? q.like : ["%"]],
    );
    let oldest: Date | undefined;
    const read = new Set<number>();
    for (const r of rows.rows) {
      read.add(r.lastTs.getTime());
      if (!oldest || r.lastTs < oldest) oldest = r.lastTs;
      if (r.line === null) continue;
      const l = JSON.parse(r.line) as Line;
      if (q.test(l)) out.push(l);
    }
    if (!oldest || read.size < chunk) break;
    cursor = oldest.toISOString();
  }
  out.sort((a, b) => (a.timestamp < b.timestamp ? 1 : a.timestamp > b.timestamp ? -1 : 0));
  return out.slice(0, size);
}

async function main(): Promise<void> {
  const N = Number(process.env.BENCH_AUDIT_LAYOUT_RECORDS ?? 100_000);
  const { DecisionLog } = await import("@/lib/audit/decisions");
  await withBenchDatabase("audit-layout", async ({ url, sql, postmaster, dir }) => {
    for (const s of DDL) await sql.query(s);
    console.log(`bench audit layout: ${N.toLocaleString("en")} records per run, CPU per record (the first run of each warms up)`);
    const prev = { hash: "" };
    const layouts: Record<string, (records: DataAccessRecord[]) => Promise<void>> = {
      "row per decision (shipped)": async (records) => {
        const log = new DecisionLog({ databaseUrl: url, spoolDir: path.join(dir, "spool") });
        for (let i = 0; i < records.length; i++) {
          log.record(records[i]!);
          if (i % 10_000 === 9_999) await log.flush();
        }
        await log.flush();
        const written = log.getStats().written;
        await log.stop();
        if (written !== records.length) throw new Error(`wrote ${written} of ${records.length}`);
      },
      "record per batch (candidate)": (records) => writeBatches(sql, records, prev),
    };
    for (let round = 0; round < 2; round++) {
      for (const [name, write] of Object.entries(layouts)) {
        await sql.query(`TRUNCATE "DataAccessLog", "DataAccessBatch"; DELETE FROM "AuditChainHead"`);
        const records = syntheticRecords(N);
        const c0 = process.cpuUsage();
        const p0 = treeCpuMs(postmaster);
        await write(records);
        const c1 = process.cpuUsage(c0);
        const pgUs = ((treeCpuMs(postmaster) - p0) * 1000) / N;
        console.log(`  ${`${name}${round === 0 ? " (warm-up)" : ""}`.padEnd(42)} node ${((c1.user + c1.system) / N).toFixed(1).padStart(5)} µs/record   PostgreSQL ${pgUs.toFixed(1).padStart(5)} µs/record`);
      }
    }
    if (process.env.BENCH_AUDIT_LAYOUT_PAGES !== "1") return;

    await sql.query(`TRUNCATE "DataAccessBatch"`);
    const t0 = performance.now();
    await sql.query(FILL);
    await sql.query(`VACUUM ANALYZE "DataAccessBatch"`);
    const size = await sql.query<{ s: string }>(`SELECT pg_size_pretty(pg_total_relation_size('"DataAccessBatch"')) AS s`);
    console.log(`\n  1,000,000 records in ${BATCH}-record batches (${size.rows[0]!.s}), generated in ${((performance.now() - t0) / 1000).toFixed(1)} s; pages of 100:`);
    const deep = await sql.query<{ lastTs: Date }>(`SELECT "lastTs" FROM "DataAccessBatch" ORDER BY "lastTs" DESC OFFSET 900 LIMIT 1`);
    // An insertId is a UUIDv7: its time finds its batch (the generated ids are v4; the time is read instead).
    const some = await sql.query<{ id: string; ts: string }>(
      `SELECT l->>'decisionId' AS id, l->>'timestamp' AS ts FROM (SELECT string_to_table(convert_from(records, 'UTF8'), E'\\n')::json AS l FROM "DataAccessBatch" WHERE seq = (SELECT min(seq) + 333 FROM "DataAccessBatch")) x LIMIT 1`,
    );
    const { id, ts } = some.rows[0]!;
    const day = new Date(Date.now() - 15 * 86_400_000).toISOString();
    const dayEnd = new Date(Date.now() - 14 * 86_400_000).toISOString();
    const any = { terms: [] as string[], like: [] as string[], test: () => true };
    const queries: Record<string, Parameters<typeof page>[1]> = {
      "first page": any,
      "deep page (90% back)": { ...any, before: deep.rows[0]!.lastTs.toISOString() },
      principal: { terms: ["p:user:u4242@example.com"], like: ['%"principal":"user:u4242@example.com"%'], test: (l) => l.principal === "user:u4242@example.com" },
      "resource (a service)": { terms: ["r:projects/p3/iap_web/compute/services/s7"], like: ['%"resourceName":"projects/p3/iap_web/compute/services/s7"%'], test: (l) => l.resourceName === "projects/p3/iap_web/compute/services/s7" },
      "resource (a project and below)": { terms: [], like: ['%"resourceName":"projects/p3/%'], test: (l) => l.resourceName.startsWith("projects/p3/") },
      permission: { terms: ["m:iap.tunnelInstances.accessViaIAP"], like: ['%"permission":"iap.tunnelInstances.accessViaIAP"%'], test: (l) => l.permission === "iap.tunnelInstances.accessViaIAP" },
      "granted=false": { terms: [], like: ['%"granted":false%'], test: (l) => !l.granted },
      "reason=CONDITION_NOT_MET": { terms: ["x:CONDITION_NOT_MET"], like: ['%"reason":"CONDITION_NOT_MET"%'], test: (l) => l.reason === "CONDITION_NOT_MET" },
      "one day (startTime, endTime)": { ...any, before: dayEnd, after: day, test: (l) => l.timestamp >= day && l.timestamp < dayEnd },
      "insertId (its batch by the UUIDv7's time)": { terms: [], like: [`%"decisionId":"${id}"%`], test: (l) => l.decisionId === id, at: ts },
      "principal (none recorded)": { terms: ["p:user:nobody@example.com"], like: ['%"principal":"user:nobody@example.com"%'], test: (l) => l.principal === "user:nobody@example.com" },
    };
    for (const [name, q] of Object.entries(queries)) {
      const samples: number[] = [];
      let n = 0;
      for (let i = 0; i < 12; i++) {
        const t = performance.now();
        n = (await page(sql, q, 100)).length;
        if (i >= 2) samples.push(performance.now() - t);
      }
      samples.sort((a, b) => a - b);
      console.log(`  ${name.padEnd(44)} p50 ${samples[5]!.toFixed(1).padStart(6)} ms   max ${samples.at(-1)!.toFixed(1).padStart(6)} ms   (${n} entries)`);
    }
  });
}

await main();
