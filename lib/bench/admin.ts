/**
 * Benchmark of the write side (not a test): `npm run bench:admin` (issue 11).
 *
 *   1. apply of the 10k world (lib/bench/world.ts, the one bench:decide uses: 12,164 changes) into
 *      an empty database, as `gatehouse apply -f world.json` does it: parse, then one mutation.
 *   2. Two Gatehouse processes on that database (the production bundle, --api-only, each with its
 *      own engine): A takes the writes, B answers decisions.
 *   3. setIamPolicy through A's admin API (`Authorization: Bearer` with a Gatehouse ID token of an
 *      organization owner), each write adding one member to a binding of 1,000 members (a policy
 *      of ~1,050 members with the world's own bindings): BENCH_WRITES sequential writes (default
 *      300, after 20 warm-up writes) → p50/p99 and writes/s; then BENCH_CONCURRENCY clients (default
 *      4) at once, each on its own such policy, for a short run.
 *   4. Visibility elsewhere: BENCH_VISIBLE writes (default 100) on A, each granting a new principal;
 *      after each answer, B is asked (without minRevision) until it allows that principal: the
 *      time from A's answer to B's first allow, p50/p99. Then writes followed by one decision on B
 *      with minRevision = the x-gatehouse-revision A returned, which must allow at once.
 * Targets: p99 ≤ 50 ms, visible elsewhere ≤ 1 s (p99), apply ≤ 10 s. The last line is one JSON object.
 * BENCH_CPU_PROF=dir writes a V8 CPU profile of instance A there when it stops; BENCH_NODE_ARGS
 * adds node flags to instance A (e.g. "--trace-gc", seen with GATEHOUSE_TEST_VERBOSE=1);
 * BENCH_SQL_LOG=1 logs every statement in PostgreSQL and prints, per sequential write, the time
 * each statement took there (parse, bind, execute) and how often it ran; BENCH_GAP_MS=n pauses
 * n ms between the sequential writes (what a client that writes less often sees).
 */
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import fs from "node:fs";
import { cpuMeter } from "./cpu";
import { generateWorld } from "./world";

interface Policy {
  version: number;
  etag: string;
  bindings: { role: string; members: string[]; condition?: unknown }[];
}

const ACCESSOR = "roles/iap.httpsResourceAccessor";
const ADMIN = "user:u0@example.com";

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function stats(samples: readonly number[]) {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] ?? NaN, mean: s.reduce((a, b) => a + b, 0) / (s.length || 1) };
}

const ms = (x: number) => `${x.toFixed(1)} ms`;

/** Every statement logged with its duration, the time as epoch seconds (statementTimes reads them), or none again. */
async function logStatements(db: { $executeRawUnsafe(sql: string): Promise<unknown> }, on: boolean): Promise<void> {
  await db.$executeRawUnsafe(on ? `ALTER SYSTEM SET log_min_duration_statement = 0` : `ALTER SYSTEM RESET log_min_duration_statement`);
  await db.$executeRawUnsafe(on ? `ALTER SYSTEM SET log_line_prefix = '%n [%p] '` : `ALTER SYSTEM RESET log_line_prefix`);
  await db.$executeRawUnsafe(`ALTER SYSTEM SET log_parameter_max_length = 0`);
  await db.$executeRawUnsafe(`SELECT pg_reload_conf()`);
}

/** Per write: PostgreSQL's time in each statement logged between `from` and `to` (ms since epoch), by step and text. */
function statementTimes(text: string, from: number, to: number, writes: number): string[] {
  const sums = new Map<string, { ms: number; n: number }>();
  for (const line of text.split("\n")) {
    const m = /^(\d+\.\d+) \[\d+\] LOG: {2}duration: ([\d.]+) ms {2}(parse|bind|execute|statement)[^:]*: (.*)$/.exec(line);
    if (!m || Number(m[1]) * 1000 < from || Number(m[1]) * 1000 > to) continue;
    const key = `${m[3]!.padEnd(9)} ${m[4]!.trim().slice(0, 90) || "(multi-line statement)"}`;
    const e = sums.get(key) ?? { ms: 0, n: 0 };
    e.ms += Number(m[2]);
    e.n++;
    sums.set(key, e);
  }
  const total = [...sums.values()].reduce((a, e) => a + e.ms, 0);
  return [
    `  PostgreSQL's time per write (statement log, every connection): ${(total / writes).toFixed(2)} ms`,
    ...[...sums].sort((x, y) => y[1].ms - x[1].ms).slice(0, 14).map(([k, e]) => `    ${(e.ms / writes).toFixed(2).padStart(6)} ms ${(e.n / writes).toFixed(2).padStart(5)}×  ${k}`),
  ];
}

async function main(): Promise<void> {
  // Audit records are keyed (lib/audit/chain.ts); the bench and the servers it starts share one key.
  process.env.GATEHOUSE_AUDIT_KEY ??= "bench-audit-key-0123456789abcdef0123456789";
  const { ensureEmbeddedPostgres } = await import("@/lib/db/embedded");
  const { applyMigrations } = await import("@/lib/db/migrate");
  const { createPrismaClient } = await import("@/lib/db/client");
  const { parseWorld } = await import("@/lib/world/parse");
  const { applyWorld } = await import("@/lib/world/apply");
  const { worldCatalog } = await import("@/lib/world/catalog");
  const { getIamPolicy, setIamPolicy } = await import("@/lib/admin/policies");
  const { startGatehouse, lastWord } = await import("@/lib/proxytest/gatehouse");
  const { stopAll } = await import("@/lib/proxytest/procs");
  const { buildServer } = await import("@/lib/server/build");

  const WRITES = Number(process.env.BENCH_WRITES ?? 300);
  const sqlLog = Boolean(process.env.BENCH_SQL_LOG);
  const VISIBLE = Number(process.env.BENCH_VISIBLE ?? 100);
  const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
  const CONCURRENT_WRITES = Number(process.env.BENCH_CONCURRENT_WRITES ?? 40);
  const log = (s: string) => console.log(s);
  const pgDir = await fsp.mkdtemp(path.join(os.tmpdir(), "gatehouse-bench-admin-pg-"));
  const pg = await ensureEmbeddedPostgres({ dataDir: pgDir, database: "bench", ephemeral: true });
  const cleanups: Array<() => Promise<unknown>> = [];
  const onSignal = () => void stopAll().finally(() => process.exit(130));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    await applyMigrations(pg.url);
    const prisma = createPrismaClient(pg.url);
    cleanups.push(() => prisma.$disconnect());
    const gen = generateWorld({ issuer: "https://idp.example.com", audience: "gatehouse" });
    log(`World: ${gen.counts.users} users, ${gen.counts.groups} groups, ${gen.counts.resources} resources in ${gen.counts.projects} projects, ${gen.counts.bindings} bindings`);

    // ── 1. apply into an empty database ────────────────────────────────────────────────────
    const text = JSON.stringify(gen.world);
    const t0 = performance.now();
    const parsed = parseWorld(text, "bench-world.json");
    const t1 = performance.now();
    const applied = await applyWorld(prisma, parsed, { actor: "system:bench", catalog: worldCatalog() });
    const t2 = performance.now();
    const applySeconds = (t2 - t0) / 1000;
    log(
      `  apply of the 10k world into an empty database: ${applySeconds.toFixed(2)} s (parse ${((t1 - t0) / 1000).toFixed(2)} s of ${(text.length / 1e6).toFixed(1)} MB JSON,` +
        ` apply ${((t2 - t1) / 1000).toFixed(2)} s: ${applied.changes.length} changes, ${await prisma.adminActivityLog.count()} audit records, revision ${applied.revision})`,
    );
    const again = performance.now();
    const noop = await applyWorld(prisma, parseWorld(text, "bench-world.json"), { actor: "system:bench", catalog: worldCatalog() });
    log(`  the same file again: ${noop.changes.length} changes in ${((performance.now() - again) / 1000).toFixed(2)} s`);

    // ── set-up: an owner to write as, and policies with a binding of 1,000 members ────────
    const system = { db: prisma, actor: { kind: "system" as const, name: "system:bench" as const } };
    const targets = gen.services.slice(1, 3 + CONCURRENCY);
    const thousand = gen.users.slice(1, 1001).map((u) => `user:${u}`);
    for (const resource of ["organizations/1", ...targets]) {
      const p = await getIamPolicy(system, resource, { options: { requestedPolicyVersion: 3 } });
      const extra = resource === "organizations/1" ? { role: "roles/owner", members: [ADMIN] } : { role: ACCESSOR, members: thousand };
      await setIamPolicy(system, resource, { policy: { ...p, bindings: [...p.bindings, extra] } });
    }
    const sizes = await Promise.all(targets.map(async (r) => (await getIamPolicy(system, r, { options: { requestedPolicyVersion: 3 } })).bindings.reduce((n, b) => n + b.members.length, 0)));
    log(`  ${targets.length} policies with a binding of 1,000 members (${Math.min(...sizes)}–${Math.max(...sizes)} members each); ${ADMIN} owns organizations/1`);

    // ── 2. two instances ─────────────────────────────────────────────────────────────────────
    const bundle = await buildServer(path.resolve(".data", "bench", "admin-server.mjs"));
    const profDir = process.env.BENCH_CPU_PROF;
    const nodeArgs = [...(profDir ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(profDir)}`] : []), ...(process.env.BENCH_NODE_ARGS?.split(" ").filter(Boolean) ?? [])];
    const [a, b] = await Promise.all([
      startGatehouse({ databaseUrl: pg.url, serverBundle: bundle, startTimeoutMs: 300_000, nodeArgs }),
      startGatehouse({ databaseUrl: pg.url, serverBundle: bundle, startTimeoutMs: 300_000 }),
    ]);
    cleanups.push(() => a.stop(), () => b.stop());
    log(`  instances: A on :${a.port} (writes), B on :${b.port} (decisions) — two processes, one database, an engine each`);
    const token = lastWord(await a.cli("token", "--principal", ADMIN));
    const proxyKey = lastWord(await b.cli("proxy-key", "create", "--name", `bench-admin-${Date.now().toString(36)}`, "--trusted"));

    const post = async (base: string, urlPath: string, auth: string, body: unknown) => {
      const res = await fetch(`${base}${urlPath}`, { method: "POST", headers: { authorization: `Bearer ${auth}`, "content-type": "application/json" }, body: JSON.stringify(body) });
      return { status: res.status, revision: res.headers.get("x-gatehouse-revision"), body: (await res.json()) as Record<string, unknown> };
    };
    const getPolicy = async (resource: string) => (await post(a.url, `/api/v1/${resource}:getIamPolicy`, token, { options: { requestedPolicyVersion: 3 } })).body as unknown as Policy;
    /** A client of one policy: each write adds one member to its 1,000-member binding, with the etag of its last answer. */
    const writer = async (resource: string) => {
      let policy = await getPolicy(resource);
      return async (member: string): Promise<{ ms: number; revision: string }> => {
        const bindings = policy.bindings.map((x) => (x.role === ACCESSOR && !x.condition ? { ...x, members: [...x.members, member] } : x));
        const start = performance.now();
        const r = await post(a.url, `/api/v1/${resource}:setIamPolicy`, token, { policy: { ...policy, bindings } });
        const took = performance.now() - start;
        if (r.status !== 200) throw new Error(`setIamPolicy answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
        policy = r.body as unknown as Policy;
        return { ms: took, revision: r.revision ?? "" };
      };
    };
    const decide = async (principal: string, resource: string, minRevision?: string) => {
      const r = await post(b.url, "/api/v1/decisions", proxyKey, { principal, resource, ...(minRevision ? { minRevision } : {}) });
      if (r.status !== 200) throw new Error(`decision answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
      return r.body.allowed === true;
    };

    // ── 3. sequential and concurrent writes ─────────────────────────────────────────────────
    const seq = await writer(targets[0]!);
    for (let i = 0; i < 20; i++) await seq(`user:warm${i}@bench.test`);
    const latencies: number[] = [];
    const postmaster = Number(fs.readFileSync(path.join(pg.clusterDir, "postmaster.pid"), "utf8").split("\n")[0]) || undefined;
    const meter = cpuMeter({ client: "self", A: a.proc.pid, B: b.proc.pid, postgres: postmaster });
    if (sqlLog) await logStatements(prisma, true);
    const sqlFrom = Date.now();
    const seqStart = performance.now();
    for (let i = 0; i < WRITES; i++) {
      latencies.push((await seq(`user:w${i}@bench.test`)).ms);
      if (process.env.BENCH_GAP_MS) await new Promise((r) => setTimeout(r, Number(process.env.BENCH_GAP_MS)));
    }
    const seqSeconds = (performance.now() - seqStart) / 1000;
    const sqlTo = Date.now();
    if (sqlLog) await logStatements(prisma, false);
    const sequential = stats(latencies);
    const writesPerSecond = WRITES / seqSeconds;
    log(`\nsetIamPolicy (+1 member to a 1,000-member binding) through A's admin API, ${WRITES} sequential writes:`);
    const cpu = meter();
    log(`  p50 ${ms(sequential.p50)}   p99 ${ms(sequential.p99)}   max ${ms(sequential.max)}   mean ${ms(sequential.mean)}   ${writesPerSecond.toFixed(1)} writes/s`);
    log(`  CPU ms per write: ${Object.entries(cpu).map(([k, v]) => `${k} ${(v / WRITES).toFixed(1)}`).join(", ")} (of ${((seqSeconds * 1000 * os.cpus().length) / WRITES).toFixed(1)} available on ${os.cpus().length} cores)`);
    if (sqlLog) statementTimes(await fsp.readFile(path.join(pgDir, "postgres.log"), "utf8"), sqlFrom, sqlTo, WRITES).forEach(log);

    const clients = await Promise.all(targets.slice(2, 2 + CONCURRENCY).map((r) => writer(r)));
    const concurrentLatencies: number[] = [];
    const concStart = performance.now();
    await Promise.all(clients.map(async (w, c) => {
      for (let i = 0; i < CONCURRENT_WRITES; i++) concurrentLatencies.push((await w(`user:c${c}-${i}@bench.test`)).ms);
    }));
    const concSeconds = (performance.now() - concStart) / 1000;
    const concurrent = stats(concurrentLatencies);
    log(`  ${clients.length} concurrent clients (one policy each), ${concurrent.n} writes: p50 ${ms(concurrent.p50)}   p99 ${ms(concurrent.p99)}   ${(concurrent.n / concSeconds).toFixed(1)} writes/s`);

    // ── 4. visible on the other instance ─────────────────────────────────────────────────────
    const vis = await writer(targets[1]!);
    const visible: number[] = [];
    const fromRequest: number[] = [];
    let polls = 0;
    for (let i = 0; i < VISIBLE; i++) {
      const member = `user:v${i}@bench.test`;
      if (await decide(member, targets[1]!)) throw new Error(`${member} is allowed before the write`);
      const start = performance.now();
      await vis(member);
      const answered = performance.now();
      for (;;) {
        polls++;
        if (await decide(member, targets[1]!)) break;
        if (performance.now() - answered > 10_000) throw new Error(`B did not reflect write ${i} within 10 s`);
      }
      visible.push(performance.now() - answered);
      fromRequest.push(performance.now() - start);
    }
    const vStats = stats(visible);
    log(`\nvisible on B (another process, its own engine), no minRevision, ${VISIBLE} writes on A (${(polls / VISIBLE).toFixed(1)} decisions asked per write):`);
    log(`  after A's answer: p50 ${ms(vStats.p50)}   p99 ${ms(vStats.p99)}   max ${ms(vStats.max)};   from the write's start: p99 ${ms(stats(fromRequest).p99)}`);
    const minRev: number[] = [];
    let immediate = 0;
    for (let i = 0; i < 20; i++) {
      const member = `user:m${i}@bench.test`;
      const w = await vis(member);
      const start = performance.now();
      if (await decide(member, targets[1]!, w.revision)) immediate++;
      minRev.push(performance.now() - start);
    }
    log(`  with minRevision = A's x-gatehouse-revision: ${immediate}/20 allowed on the first decision (that decision: p50 ${ms(stats(minRev).p50)}, p99 ${ms(stats(minRev).p99)})`);

    const meets = (ok: boolean) => (ok ? "meets" : "MISSES");
    log("");
    log(`  setIamPolicy p99 ${ms(sequential.p99)} (target ≤ 50 ms: ${meets(sequential.p99 <= 50)}); visible elsewhere p99 ${ms(vStats.p99)} (target ≤ 1 s: ${meets(vStats.p99 <= 1000)}); apply ${applySeconds.toFixed(2)} s (target ≤ 10 s: ${meets(applySeconds <= 10)})`);
    const r1 = (x: number) => Math.round(x * 10) / 10;
    console.log(JSON.stringify({ bench: "admin", p50_ms: r1(sequential.p50), p99_ms: r1(sequential.p99), writes_per_s: r1(writesPerSecond), visible_p99_ms: r1(vStats.p99), apply_10k_s: Math.round(applySeconds * 100) / 100 }));
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await stopAll();
    await pg.stop().catch(() => {});
    await fsp.rm(pgDir, { recursive: true, force: true });
  }
}

await main();
