/**
 * Benchmark of the decision audit trail (not a test): `npm run bench:audit` (issue 13).
 *
 * Gatehouse runs as its own process (the production bundle, --api-only, NODE_ENV=production) on
 * a fresh embedded PostgreSQL with the demo world; autocannon (50 connections, in this process)
 * sends POST /api/v1/decisions from a trusted proxy (12 principals × 6 resources).
 *   1. Cost of recording: two servers, auditing off (the server's --bench-no-audit baseline) and
 *      on, loaded in turn for BENCH_AUDIT_COMPARE seconds each (default 40) split over
 *      BENCH_AUDIT_ROUNDS rounds (default 8: short runs, as the VM's speed drifts over minutes);
 *      each round is a pair of runs back to back (off then on, on then off in the next round: what
 *      drifts over a round cancels out) and gives the throughput lost in it; overhead_pct is the
 *      median round's (target ≤ 15 %). BENCH_AUDIT_SINK_ONLY=1 adds a third server in each round:
 *      the high-volume configuration (NDJSON file sink, no data-access rows in PostgreSQL).
 *      BENCH_AUDIT_BASELINE=path/to/server.mjs: the baseline is another build, auditing on. A run ends when
 *      the server and PostgreSQL are idle again, so that the work an audited run sets in motion
 *      (last flushes, autovacuum) is not charged to the next run; the best run of each server
 *      would compare different minutes of a VM whose speed drifts by up to 2x. Also printed: the
 *      capacity lost — CPU per decision of the whole machine (server, PostgreSQL, load
 *      generator), off against on — and the CPU recording adds per decision.
 *   2. Nothing lost: BENCH_AUDIT_DURATION seconds (default 60) at full speed with PostgreSQL
 *      stopped for BENCH_AUDIT_OUTAGE seconds (default 10) in the middle and restarted; every
 *      answered decision's decisionId is collected, and once the spool has drained the records
 *      are counted: `missing` answered decisions without a record, `duplicates` records beyond
 *      one per decision the server made (its /healthz count; targets: 0 and 0).
 * Prints the figures and, as the last line, one JSON object.
 */
import { benchAuditPages } from "./audit-pages";
import { cpuMeter } from "./cpu";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";

interface AutocannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  "2xx": number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;

const positive = (name: string, fallback: number) => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
};

async function main(): Promise<void> {
  const DURATION = positive("BENCH_AUDIT_DURATION", 60);
  const OUTAGE = positive("BENCH_AUDIT_OUTAGE", 10);
  const COMPARE = positive("BENCH_AUDIT_COMPARE", 40);
  const ROUNDS = Math.max(1, Math.round(positive("BENCH_AUDIT_ROUNDS", 8)));
  if (OUTAGE >= DURATION) throw new Error("BENCH_AUDIT_OUTAGE must be shorter than BENCH_AUDIT_DURATION");
  const CONNECTIONS = 50;
  // The bench and the server it starts share the audit key (the bench counts, never verifies with it).
  process.env.GATEHOUSE_AUDIT_KEY ??= "bench-audit-key-0123456789abcdef0123456789";

  const { ensureEmbeddedPostgres } = await import("@/lib/db/embedded");
  const { applyMigrations } = await import("@/lib/db/migrate");
  const { createPrismaClient } = await import("@/lib/db/client");
  const { seedWorldFile } = await loadWorld();
  const { createProxyKey } = await import("@/lib/admin/proxy-keys");
  const { SYSTEM_CLI } = await import("@/lib/admin/context");
  const { startGatehouse } = await import("@/lib/proxytest/gatehouse");
  const { stopAll } = await import("@/lib/proxytest/procs");
  const { buildServer } = await import("@/lib/server/build");
  const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;
  const log = (s: string) => console.log(s);

  const pgDir = await fsp.mkdtemp(path.join(os.tmpdir(), "gatehouse-bench-audit-pg-"));
  let pg = await ensureEmbeddedPostgres({ dataDir: pgDir, database: "bench", ephemeral: true });
  const cleanups: Array<() => Promise<unknown>> = [];
  process.once("SIGINT", () => void stopAll().finally(() => process.exit(130)));
  try {
    await applyMigrations(pg.url);
    const prisma = createPrismaClient(pg.url);
    cleanups.push(() => prisma.$disconnect());
    await seedWorldFile(prisma);
    const key = (await createProxyKey({ db: prisma, actor: SYSTEM_CLI }, { name: `bench-audit-${Date.now().toString(36)}`, trusted: true })).secret;
    const serverBundle = await buildServer(path.resolve(".data", "bench", "server.mjs"));
    // BENCH_CPU_PROF=dir: V8 CPU profiles of the servers' threads, written when they stop;
    // BENCH_NODE_ARGS: more node flags for them (e.g. --trace-gc, with GATEHOUSE_TEST_VERBOSE=1).
    const profDir = process.env.BENCH_CPU_PROF;
    const nodeArgs = [...(profDir ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(profDir)}`] : []), ...(process.env.BENCH_NODE_ARGS?.split(" ").filter(Boolean) ?? [])];
    const start = (serverArgs: string[] = [], env: Record<string, string> = {}, bundle = serverBundle) =>
      startGatehouse({ databaseUrl: pg.url, serverBundle: bundle, serverArgs, nodeArgs, startTimeoutMs: 300_000, extraEnv: { NODE_ENV: "production", GATEHOUSE_AUDIT_KEY: process.env.GATEHOUSE_AUDIT_KEY, ...env } });

    const principals = ["alice", "bob", "carol", "dave", "mallory", "admin"].flatMap((u) => [`user:${u}@example.com`, `user:${u}.other@example.com`]);
    const resources = [
      "projects/demo/iap_web/compute/services/web",
      "projects/demo/iap_web/compute/services/wiki",
      "projects/demo/iap_web/compute/services/grafana",
      "projects/demo/iap_web/appengine-demo/services/default/versions/v1",
      "projects/payments/iap_web/compute/services/admin",
      "projects/demo",
    ];
    const answered: string[] = [];
    const requests = (collect: boolean) =>
      principals.flatMap((principal) =>
        resources.map((resource) => ({
          method: "POST",
          path: "/api/v1/decisions",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: JSON.stringify({ principal, resource, request: { path: "/", ip: "10.0.0.7" } }),
          ...(collect ? { onResponse: (status: number, body: string) => status === 200 && answered.push((JSON.parse(body) as { decisionId: string }).decisionId) } : {}),
        })),
      );
    // Where the CPU went, per decision answered: the server, PostgreSQL, this process (the load).
    const postmaster = () => Number(fs.readFileSync(path.join(pg.clusterDir, "postmaster.pid"), "utf8").split("\n")[0]) || undefined;
    const load = async (name: string, g: { port: number; proc: { pid?: number } }, duration: number, collect = false) => {
      const trees = { server: g.proc.pid, serverMain: { mainThread: g.proc.pid }, postgres: postmaster(), client: "self" as const };
      const meter = cpuMeter(trees);
      const r = await autocannon({ url: `http://127.0.0.1:${g.port}`, requests: requests(collect), connections: CONNECTIONS, duration });
      // What the run set in motion counts too: the last flushes, autovacuum and checkpoint work on
      // what it wrote. Waits (≤ 10 s) until the server and PostgreSQL are idle again.
      for (let i = 0; i < 40; i++) {
        const busy = cpuMeter({ server: trees.server, postgres: trees.postgres });
        await sleep(250);
        const b = busy();
        if (b.server! + b.postgres! < 15) break;
      }
      const cpu = meter();
      const decisions = Math.max(1, r["2xx"]);
      const perDecision = (ms: number) => ((ms * 1000) / decisions).toFixed(0).padStart(3);
      log(
        `  ${name.padEnd(46)} ${Math.round(r.requests.average).toString().padStart(6)} req/s   p50 ${r.latency.p50} ms   p99 ${r.latency.p99} ms` +
          `   (2xx ${r["2xx"]}, non-2xx ${r.non2xx}, errors ${r.errors + r.timeouts})` +
          (collect ? "" : `   CPU µs/decision: server ${perDecision(cpu.server!)} (main thread ${perDecision(cpu.serverMain!)}), PostgreSQL ${perDecision(cpu.postgres!)}, client ${perDecision(cpu.client!)}`),
      );
      return { ...r, cpuUs: { gatehouse: ((cpu.server! + cpu.postgres!) * 1000) / decisions, all: ((cpu.server! + cpu.postgres! + cpu.client!) * 1000) / decisions } };
    };

    log(`autocannon: ${CONNECTIONS} connections; ${os.cpus().length} cores shared by client, server and PostgreSQL; load average ${os.loadavg().map((x) => x.toFixed(1)).join(" ")}`);
    // 1. What recording costs: the servers up, loaded in turn (off, on, on, off, …).
    // BENCH_AUDIT_BASELINE=path/to/server.mjs (another checkout's `buildServer` output): the
    // baseline is that build with auditing on, to price a change to the recorder by the same
    // paired method; overhead_pct is then what this build costs against it.
    const baseline = process.env.BENCH_AUDIT_BASELINE ? path.resolve(process.env.BENCH_AUDIT_BASELINE) : undefined;
    const offName = baseline ? `baseline build (auditing on)` : "auditing off (--bench-no-audit)";
    const off = baseline ? await start([], {}, baseline) : await start(["--bench-no-audit"]);
    cleanups.push(() => off.stop());
    const gatehouse = await start();
    cleanups.push(() => gatehouse.stop());
    // BENCH_AUDIT_SINK_ONLY=1: also the high-volume configuration (records shipped as NDJSON to a
    // file, none stored in PostgreSQL), measured the same way; it is not overhead_pct.
    const audited = [{ name: "auditing on", server: gatehouse }];
    if (process.env.BENCH_AUDIT_SINK_ONLY === "1") {
      const sinkOnly = await start([], { GATEHOUSE_AUDIT_SINK: `file:${path.join(pgDir, "sink.ndjson")}`, GATEHOUSE_AUDIT_STORE_DATA_ACCESS: "false" });
      cleanups.push(() => sinkOnly.stop());
      audited.push({ name: "auditing on, file sink only", server: sinkOnly });
    }
    for (const g of [off, ...audited.map((a) => a.server)]) await autocannon({ url: `http://127.0.0.1:${g.port}`, requests: requests(false), connections: CONNECTIONS, duration: 2 }); // warm-up
    // Per round and audited configuration: the throughput lost, and the capacity lost — CPU per
    // decision of the whole machine (server, PostgreSQL and the load generator, which share its
    // two cores), off against on. The second is what a CPU-bound machine's throughput loses,
    // without the VM's drift. Short runs in many rounds: the VM's speed drifts over minutes.
    const results = audited.map(() => ({ losses: [] as number[], capacity: [] as number[], cpu: [] as number[] }));
    const baselineRates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const runs = [{ name: offName, server: off }, ...audited];
      const order = round % 2 === 0 ? runs : [...runs].reverse();
      const measured = new Map<string, Awaited<ReturnType<typeof load>>>();
      for (const r of order) measured.set(r.name, await load(r.name, r.server, COMPARE / ROUNDS));
      const a = measured.get(runs[0]!.name)!;
      baselineRates.push(a.requests.average);
      audited.forEach((config, i) => {
        const b = measured.get(config.name)!;
        results[i]!.losses.push((1 - b.requests.average / a.requests.average) * 100);
        results[i]!.capacity.push((1 - a.cpuUs.all / b.cpuUs.all) * 100);
        results[i]!.cpu.push(b.cpuUs.gatehouse - a.cpuUs.gatehouse);
      });
    }
    const pct = (xs: number[]) => xs.map((l) => `${l.toFixed(1)} %`).join(", ");
    audited.forEach((config, i) => {
      const r = results[i]!;
      log(`  ${config.name}: throughput lost per round: ${pct(r.losses)}; median ${median(r.losses).toFixed(1)} %`);
      log(`    capacity lost per round (CPU per decision of the whole machine, stricter while a core idles): ${pct(r.capacity)}; median ${median(r.capacity).toFixed(1)} %`);
      log(`    CPU recording adds per decision (server + PostgreSQL): ${r.cpu.map((x) => `${x.toFixed(0)} µs`).join(", ")}; median ${median(r.cpu).toFixed(0)} µs`);
    });
    // How far the same baseline server's own rate moved between rounds: the VM's noise, against
    // which a difference between configurations has to be read.
    const [slowest, fastest] = [Math.min(...baselineRates), Math.max(...baselineRates)];
    const spread = ((fastest - slowest) / median(baselineRates)) * 100;
    log(`  the baseline's own rate across rounds: ${slowest.toFixed(0)}–${fastest.toFixed(0)} req/s, a spread of ${spread.toFixed(0)} % of its median${spread > 20 ? " — a noisy VM: compare the per-round figures, not only the medians" : ""}`);
    const overhead = median(results[0]!.losses);

    // Every record of the runs so far is in the database before the counted run starts.
    const flushed = async () => {
      for (let waited = 0; waited < 300; waited++) {
        const audit = await fetch(`http://127.0.0.1:${gatehouse.port}/healthz`)
          .then((r) => r.json() as Promise<{ audit?: { recorded: number; written: number } }>)
          .then((h) => h.audit)
          .catch(() => undefined);
        if (audit && audit.written === audit.recorded) return audit;
        await sleep(1000);
      }
      throw new Error("the decision log did not catch up within 5 minutes");
    };
    const before = await flushed();

    // 2. Nothing lost across a PostgreSQL outage.
    const since = (await prisma.dataAccessLog.aggregate({ _max: { seq: true } }))._max.seq ?? 0n;
    log(`\n  ${DURATION} s at full speed; PostgreSQL stopped for ${OUTAGE} s from ${((DURATION - OUTAGE) / 2).toFixed(0)} s`);
    const outage = (async () => {
      await sleep(((DURATION - OUTAGE) / 2) * 1000);
      const stoppedAt = performance.now();
      await pg.stop();
      await sleep(OUTAGE * 1000 - (performance.now() - stoppedAt));
      pg = await ensureEmbeddedPostgres({ dataDir: pgDir, database: "bench", ephemeral: true, port: pg.port });
      log(`  PostgreSQL back after ${((performance.now() - stoppedAt) / 1000).toFixed(1)} s`);
    })();
    const run = await load("auditing on, PostgreSQL stopped and restarted", gatehouse, DURATION, true);
    await outage;

    // The spool drains: every record taken is then in PostgreSQL.
    const counters = await flushed();
    const records = await prisma.dataAccessLog.count({ where: { seq: { gt: since } } });
    const ids = new Set<string>();
    for (let i = 0; i < answered.length; i += 10_000) {
      const slice = answered.slice(i, i + 10_000);
      for (const r of await prisma.dataAccessLog.findMany({ where: { decisionId: { in: slice } }, select: { decisionId: true } })) ids.add(r.decisionId);
    }
    const missing = answered.filter((id) => !ids.has(id)).length;
    // The server's own count of what it decided in the run (autocannon drops the answers still in
    // flight when it stops: decided and recorded, never received — not duplicates).
    const decided = counters.recorded - before.recorded;
    const duplicates = records - decided;

    log("");
    if (baseline) log(`  cost against the baseline build ${baseline}: ${overhead.toFixed(1)} %`);
    else log(`  overhead of recording: ${overhead.toFixed(1)} % (target ≤ 15 %: ${overhead <= 15 ? "meets" : "MISSES"})`);
    log(
      `  outage run: ${answered.length} decisions answered (non-2xx ${run.non2xx}; ${decided - answered.length} more decided but still in flight when the load stopped), ` +
        `${records} records; missing ${missing}, duplicates ${duplicates} (targets 0, 0)`,
    );
    log(`  /healthz audit counters after the run: ${JSON.stringify(counters)}`);

    // The search half: pages over 1,000,000 data-access records (first, deep, each filter) through
    // listAuditLogs, in the same database after the load (lib/bench/audit-pages.ts).
    const pageMsP99 = (await benchAuditPages({ prisma, records: Number(process.env.BENCH_AUDIT_RECORDS ?? 1_000_000), log })).page_ms_p99;

    console.log(
      JSON.stringify({
        bench: "audit",
        decisions: answered.length,
        records,
        missing,
        duplicates,
        overhead_pct: Math.round(overhead * 10) / 10,
        page_ms_p99: pageMsP99,
      }),
    );
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await stopAll();
    await pg.stop().catch(() => {});
    await fsp.rm(pgDir, { recursive: true, force: true });
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length / 2;
  return s.length % 2 ? s[Math.floor(mid)]! : (s[mid - 1]! + s[mid]!) / 2;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}

/** The demo world, applied as `gatehouse apply` does. */
async function loadWorld() {
  const { parseWorld } = await import("@/lib/world/parse");
  const { applyWorld } = await import("@/lib/world/apply");
  const { worldCatalog } = await import("@/lib/world/catalog");
  const { DEMO_WORLD_FILE } = await import("@/lib/admin/seed");
  return {
    seedWorldFile: (prisma: Parameters<typeof applyWorld>[0]) =>
      applyWorld(prisma, parseWorld(fs.readFileSync(DEMO_WORLD_FILE, "utf8"), DEMO_WORLD_FILE), { actor: "system:bench", catalog: worldCatalog() }),
  };
}

await main();
