/**
 * Benchmark of the decision service over HTTP (not a test): `npm run bench:decide` (issue 4).
 *
 * World: 10,000 users, 1,000 groups (each user in ~3 leaf groups, groups nested up to 3 deep),
 * 500 web services in 50 projects under 10 folders, 20,000 bindings (90 % on services, 9 % on
 * projects, 1 % on folders and the organization; 10 % conditional; distinct roles per node, so
 * nothing merges), applied with the same code as `gatehouse apply` into a fresh embedded
 * PostgreSQL. Gatehouse runs as its own process — the production bundle (lib/server/build.ts),
 * with --api-only and NODE_ENV=production: the hot paths never touch Next.js — with decision
 * audit logging on.
 *
 * Load: autocannon, 50 connections, 10 s each (BENCH_DURATION), after a 2 s warm-up, client in
 * this process (BENCH_ROUNDS=n repeats the four runs and keeps each one's best; BENCH_DATA_DIR=dir
 * keeps the database with the world between invocations; BENCH_CPU_PROF=dir writes a V8 CPU profile
 * of the Gatehouse process there when it stops; BENCH_TSX=1 runs lib/server/main.ts under tsx instead
 * of the production bundle, for comparison):
 *   1. POST /api/v1/decisions — a trusted proxy asserting principals; 256 distinct checks, half
 *      drawn from real bindings, half random (the allowed share is printed).
 *   2. ceiling: a bare node:http server answering a constant JSON (its own process).
 *   3. nginx (docs/proxies/nginx.conf as shipped) → /api/v1/forward-auth → a trivial backend;
 *      128 ID tokens from a trusted issuer, half of them allowed.
 *   4. ceiling: the same nginx config → a bare node:http auth service answering from a Map.
 * Prints rps and p50/p99 for each, the ratios, and as the last line one JSON object.
 * Targets (issue 4): decisions ≥ 50 % of bare with p99 ≤ 10 ms; forward ≥ 80 % of its ceiling.
 *
 * `tsx lib/bench/decide.ts --serve bare|auth|backend PORT [MAPFILE]` runs one of the helper servers.
 */
import fs from "node:fs";
import fsp from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { cpuMeter } from "./cpu";
import { APP_HOST, generateWorld } from "./world";

// ── the benchmark ────────────────────────────────────────────────────────────────────────────
interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  "2xx": number;
  duration: number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;

interface Run {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  non2xx: number;
  errors: number;
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
  const { startGatehouse, lastWord, runCli } = await import("@/lib/proxytest/gatehouse");
  const { startIssuer } = await import("@/lib/proxytest/issuer");
  const { startNginx } = await import("@/lib/proxytest/proxies");
  const { freePort, rawRequest, spawnProc, stopAll, waitFor } = await import("@/lib/proxytest/procs");
  const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

  const DURATION = Number(process.env.BENCH_DURATION ?? 10);
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
  const CONNECTIONS = 50;
  const self = fileURLToPath(import.meta.url);
  const log = (s: string) => console.log(s);
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), "gatehouse-bench-"));
  // BENCH_DATA_DIR keeps the embedded cluster (and the applied world) between runs.
  const keepPg = Boolean(process.env.BENCH_DATA_DIR);
  const pgDir = process.env.BENCH_DATA_DIR ? path.resolve(process.env.BENCH_DATA_DIR) : await fsp.mkdtemp(path.join(os.tmpdir(), "gatehouse-bench-pg-"));
  const pg = await ensureEmbeddedPostgres({ dataDir: pgDir, database: "bench", ephemeral: true });
  const cleanups: Array<() => Promise<unknown>> = [];
  const onSignal = () => void stopAll().finally(() => process.exit(130));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  // The embedded server's postmaster (its backends are its children).
  const postmaster = () => {
    try {
      return Number(fs.readFileSync(path.join(pgDir, "cluster", "postmaster.pid"), "utf8").split("\n")[0]) || undefined;
    } catch {
      return undefined;
    }
  };
  const serve = async (mode: string, extra: string[] = []) => {
    const port = await freePort();
    const proc = spawnProc(`bench-${mode}`, process.execPath, ["--import", "tsx", self, "--serve", mode, String(port), ...extra], { env: process.env });
    await waitFor(`${mode} server`, async () => (await rawRequest({ port, path: "/", timeoutMs: 1000 })).status > 0, { proc, timeoutMs: 30_000 });
    return { port, proc };
  };

  const load = async (name: string, opts: Record<string, unknown>, trees: Record<string, number | undefined>): Promise<Run> => {
    await autocannon({ ...opts, connections: CONNECTIONS, duration: 2 }); // warm-up (JIT, caches, keep-alive pools)
    const meter = cpuMeter({ client: "self", ...trees });
    const r = await autocannon({ ...opts, connections: CONNECTIONS, duration: DURATION });
    const used = meter();
    const total = r["2xx"] + r.non2xx;
    // CPU milliseconds per 1,000 requests, per process tree (client: autocannon, in this process).
    const cpu = Object.fromEntries(Object.entries(used).map(([k, ms]) => [k, total ? (1000 * ms) / total : 0]));
    const run: Run = { name, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, ok: r["2xx"], non2xx: r.non2xx, errors: r.errors + r.timeouts };
    log(
      `  ${name.padEnd(44)} ${Math.round(run.rps).toString().padStart(7)} req/s   p50 ${run.p50} ms   p99 ${run.p99} ms` +
        `   (2xx ${run.ok}, non-2xx ${run.non2xx}, errors ${run.errors})`,
    );
    log(`  ${"".padEnd(44)} CPU ms per 1k requests: ${Object.entries(cpu).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", ")}`);
    return run;
  };

  try {
    await applyMigrations(pg.url);
    const issuer = await startIssuer("gatehouse-bench");
    cleanups.push(() => issuer.stop());
    const gen = generateWorld(issuer);
    log(`World: ${gen.counts.users} users, ${gen.counts.groups} groups, ${gen.counts.resources} resources in ${gen.counts.projects} projects, ${gen.counts.bindings} bindings`);
    const prisma = createPrismaClient(pg.url);
    cleanups.push(() => prisma.$disconnect());
    let t0 = performance.now();
    if (keepPg && (await prisma.principal.count()) >= gen.counts.users) {
      // The world is deterministic (seeded), only the issuer's port differs.
      await applyWorld(prisma, parseWorld(JSON.stringify({ trustedIssuers: gen.world.trustedIssuers })), { actor: "system:bench", catalog: worldCatalog() });
      // Every run starts with an empty decision log, as on a fresh database.
      await prisma.$executeRawUnsafe(`TRUNCATE "DataAccessLog"; DELETE FROM "AuditChainHead" WHERE stream = 'data_access'`);
      log(`  reusing the world in ${pgDir}`);
    } else {
      const parsed = parseWorld(JSON.stringify(gen.world), "bench-world.json");
      const applied = await applyWorld(prisma, parsed, { actor: "system:bench", catalog: worldCatalog() });
      log(`  applied in ${((performance.now() - t0) / 1000).toFixed(1)} s (${applied.changes.length} changes, revision ${applied.revision})`);
    }

    const cliEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: "production", DATABASE_URL: pg.url, GATEHOUSE_SEED_DEMO: "false" };
    const suffix = Date.now().toString(36);
    const trustedKey = lastWord(await runCli(cliEnv, ["proxy-key", "create", "--name", `bench-trusted-${suffix}`, "--trusted"]));
    const nginxKey = lastWord(await runCli(cliEnv, ["proxy-key", "create", "--name", `bench-nginx-${suffix}`]));

    t0 = performance.now();
    const profDir = process.env.BENCH_CPU_PROF;
    // The production build of the server, as `npm start` runs it (bundled inside the repository,
    // where its external packages resolve, next to the other local state).
    const { buildServer } = await import("@/lib/server/build");
    const serverBundle = process.env.BENCH_TSX ? undefined : await buildServer(path.resolve(".data", "bench", "server.mjs"));
    const gatehouse = await startGatehouse({
      databaseUrl: pg.url,
      ...(serverBundle ? { serverBundle } : {}),
      startTimeoutMs: 300_000,
      ...(profDir ? { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${path.resolve(profDir)}`] } : {}),
    });
    cleanups.push(() => gatehouse.stop());
    log(`  Gatehouse (${serverBundle ? "production bundle" : "tsx"}, --api-only, NODE_ENV=production) ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    // The decision mix, as the engine answers it.
    const decide = (body: unknown, key = trustedKey) =>
      rawRequest({
        port: gatehouse.port,
        path: body && typeof body === "object" && "checks" in body ? "/api/v1/decisions:batch" : "/api/v1/decisions",
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const mix = await decide({ checks: gen.checks.slice(0, 100) });
    if (mix.status !== 200) throw new Error(`decisions:batch answered ${mix.status}: ${mix.body}`);
    let allowedShare = 0;
    {
      let allowed = 0;
      for (const c of gen.checks) {
        const r = await decide(c);
        if (r.status !== 200) throw new Error(`decisions answered ${r.status}: ${r.body}`);
        if (r.json<{ allowed: boolean }>().allowed) allowed++;
      }
      allowedShare = allowed / gen.checks.length;
      log(`  decision mix: ${gen.checks.length} distinct checks, ${Math.round(allowedShare * 100)} % allowed`);
    }

    // Tokens for nginx → forward-auth: 64 users allowed on app.example.com, 64 denied.
    const appResource = gen.services[0]!;
    const allowedUsers: string[] = [];
    const deniedUsers: string[] = [];
    for (let i = 0; i < gen.users.length && (allowedUsers.length < 64 || deniedUsers.length < 64); i += 100) {
      const batch = gen.users.slice(i, i + 100);
      const r = await decide({ checks: batch.map((u) => ({ principal: `user:${u}`, resource: appResource, request: { host: APP_HOST, path: "/public" } })) });
      const results = r.json<{ results: { allowed: boolean }[] }>().results;
      batch.forEach((u, k) => (results[k]?.allowed ? allowedUsers : deniedUsers).push(u));
    }
    // Interleaved (allowed, denied, …): every autocannon connection walks the list from the start.
    const tokenUsers = Array.from({ length: 64 }, (_, i) => [allowedUsers[i], deniedUsers[i]]).flat().filter((u): u is string => Boolean(u));
    const tokens = await Promise.all(tokenUsers.map((u) => issuer.mint(u)));
    const allowedSet = new Set(allowedUsers);
    const tokenMap: Record<string, string> = {};
    tokens.forEach((t, i) => {
      if (allowedSet.has(tokenUsers[i]!)) tokenMap[`Bearer ${t}`] = tokenUsers[i]!;
    });
    const mapFile = path.join(tmp, "auth-map.json");
    await fsp.writeFile(mapFile, JSON.stringify(tokenMap));
    log(`  forward-auth mix: ${Math.min(64, allowedUsers.length)} allowed and ${Math.min(64, deniedUsers.length)} denied users (ID tokens from a trusted issuer)`);

    const backend = await serve("backend");
    const bare = await serve("bare");
    const bareAuth = await serve("auth", [mapFile]);
    const viaGatehouse = await startNginx({ gatehousePort: gatehouse.port, appPort: backend.port, proxyKey: nginxKey });
    const viaBare = await startNginx({ gatehousePort: bareAuth.port, appPort: backend.port, proxyKey: "ghpk_unused" });
    cleanups.push(() => viaGatehouse.stop(), () => viaBare.stop());
    for (const [i, want] of [[0, 200], [1, 403]] as const) {
      const probe = await rawRequest({ port: viaGatehouse.port, path: "/public", headers: { host: APP_HOST, authorization: `Bearer ${tokens[i]}` } });
      if (probe.status !== want) throw new Error(`nginx → Gatehouse → backend answered ${probe.status}, not ${want}, for ${tokenUsers[i]}: ${probe.body.slice(0, 300)}`);
    }

    log(
      `\nautocannon: ${CONNECTIONS} connections, ${DURATION} s each (after a 2 s warm-up); ${os.cpus().length} cores shared by client and servers;` +
        ` load average before: ${os.loadavg().map((x) => x.toFixed(1)).join(" ")}`,
    );
    const decisionRequests = gen.checks.map((c) => ({
      method: "POST",
      path: "/api/v1/decisions",
      headers: { authorization: `Bearer ${trustedKey}`, "content-type": "application/json" },
      body: JSON.stringify(c),
    }));
    const forwardRequests = tokens.map((t, i) => ({ method: "GET", path: i % 4 === 3 ? "/api/v1/items" : "/public", headers: { host: APP_HOST, authorization: `Bearer ${t}` } }));
    // Each target runs right next to its ceiling, so both see the same machine. With
    // BENCH_ROUNDS > 1 the pairs are repeated and each keeps its best round (shared machines).
    const best = (a: Run | undefined, b: Run) => (a && a.rps >= b.rps ? a : b);
    let decisions: Run | undefined;
    let bareRun: Run | undefined;
    let forward: Run | undefined;
    let ceiling: Run | undefined;
    for (let round = 1; round <= ROUNDS; round++) {
      if (ROUNDS > 1) log(`  round ${round}/${ROUNDS}`);
      decisions = best(decisions, await load("POST /api/v1/decisions (Gatehouse)", { url: `http://127.0.0.1:${gatehouse.port}`, requests: decisionRequests }, { gatehouse: gatehouse.proc.pid, postgres: postmaster() }));
      bareRun = best(
        bareRun,
        await load("bare node:http, constant JSON (ceiling)", { url: `http://127.0.0.1:${bare.port}`, requests: decisionRequests.map((r) => ({ ...r, path: "/" })) }, { bare: bare.proc.pid }),
      );
      forward = best(
        forward,
        await load("nginx → forward-auth (Gatehouse) → backend", { url: `http://127.0.0.1:${viaGatehouse.port}`, requests: forwardRequests }, {
          nginx: viaGatehouse.proc.pid,
          gatehouse: gatehouse.proc.pid,
          postgres: postmaster(),
          backend: backend.proc.pid,
        }),
      );
      ceiling = best(
        ceiling,
        await load("nginx → bare auth (Map) → backend (ceiling)", { url: `http://127.0.0.1:${viaBare.port}`, requests: forwardRequests }, {
          nginx: viaBare.proc.pid,
          auth: bareAuth.proc.pid,
          backend: backend.proc.pid,
        }),
      );
    }
    if (!decisions || !bareRun || !forward || !ceiling) throw new Error("BENCH_ROUNDS must be at least 1");
    log(`  load average after the runs: ${os.loadavg().map((x) => x.toFixed(1)).join(" ")}`);

    const ratioToBare = decisions.rps / bareRun.rps;
    const ratioForward = forward.rps / ceiling.rps;
    const check = (ok: boolean) => (ok ? "meets" : "MISSES");
    log("");
    log(`  decisions / bare:      ${(ratioToBare * 100).toFixed(1)} %  (target ≥ 50 %: ${check(ratioToBare >= 0.5)});  decisions p99 ${decisions.p99} ms (target ≤ 10 ms: ${check(decisions.p99 <= 10)})`);
    log(`  forward / its ceiling: ${(ratioForward * 100).toFixed(1)} %  (target ≥ 80 %: ${check(ratioForward >= 0.8)})`);
    if (decisions.errors || forward.errors) log(`  (errors: decisions ${decisions.errors}, forward ${forward.errors})`);
    const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
    console.log(
      JSON.stringify({
        bench: "decide",
        decisions_rps: Math.round(decisions.rps),
        decisions_p99_ms: decisions.p99,
        bare_rps: Math.round(bareRun.rps),
        ratio_to_bare: round(ratioToBare),
        forward_rps: Math.round(forward.rps),
        forward_ceiling_rps: Math.round(ceiling.rps),
        ratio_forward: round(ratioForward),
      }),
    );
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await stopAll();
    await pg.stop().catch(() => {});
    await fsp.rm(tmp, { recursive: true, force: true });
    if (!keepPg) await fsp.rm(pgDir, { recursive: true, force: true });
  }
}

// ── helper servers (child processes) ─────────────────────────────────────────────────────────
function serveHelper(): void {
  const [, , , mode, port, mapFile] = process.argv;
  const json = Buffer.from(JSON.stringify({ allowed: true, reason: "GRANTED", revision: "1" }));
  let handler: http.RequestListener;
  if (mode === "bare") {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": json.length });
      res.end(json);
    };
  } else if (mode === "auth") {
    // A forward-auth service that only looks the bearer token up: the ceiling for nginx → auth.
    const identities = new Map<string, Record<string, string>>(
      Object.entries(JSON.parse(fs.readFileSync(mapFile!, "utf8")) as Record<string, string>).map(([authz, email]) => [
        authz,
        {
          "x-goog-iap-jwt-assertion": "constant.assertion.value",
          "x-goog-authenticated-user-email": `accounts.google.com:${email}`,
          "x-goog-authenticated-user-id": `accounts.google.com:${email}`,
        },
      ]),
    );
    handler = (req, res) => {
      const headers = identities.get(req.headers.authorization ?? "");
      // An empty body of known length, as Gatehouse answers: nginx then keeps the connection.
      res.writeHead(headers ? 200 : 403, { ...headers, "content-length": "0" });
      res.end();
    };
  } else {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain", "content-length": 2 });
      res.end("ok");
    };
  }
  const server = http.createServer(handler);
  server.keepAliveTimeout = 65_000;
  server.listen(Number(port), "127.0.0.1");
}

// Dispatch last: the constants above must be initialised before main() runs.
if (process.argv[2] === "--serve") serveHelper();
else await main();
