// Builds and tears down the decision stack of one instance: signing keys, token verification,
// proxy credentials, the live policy engine and the decision audit log. Used by the server and
// by tests that run the hot paths in-process.
import http from "node:http";
import type { PrismaClient } from "@/lib/generated/prisma/client";
import { createPrismaClient } from "@/lib/db/client";
import { DecisionLog } from "@/lib/audit/decisions";
import { NdjsonSink, type AuditSinkTarget } from "@/lib/audit/sink";
import { CheckpointWriter } from "@/lib/audit/checkpoints";
import { purgeExpired, type RetentionDays } from "@/lib/audit/retention";
import { KeyRing } from "@/lib/identity/keys";
import { TokenVerifier } from "@/lib/identity/verify";
import { AppSessions } from "./app-session";
import { PolicyEngine } from "./engine";
import { handleHotPath, type HotPathContext } from "./http";
import { ProxyCredentials } from "./proxies";

export interface StackOptions {
  prisma: PrismaClient;
  databaseUrl: string;
  publicUrl: string;
  authSecret: string;
  bootstrapAdmins: readonly string[];
  spoolDir: string;
  /** See EngineOptions.maxStalenessMs (GATEHOUSE_MAX_STALENESS_SECONDS). */
  maxStalenessMs?: number;
  log?: (message: string) => void;
  /** GATEHOUSE_AUDIT_SINK: also ship every data-access record as NDJSON (lib/audit/sink.ts). */
  auditSink?: AuditSinkTarget;
  /** GATEHOUSE_AUDIT_STORE_DATA_ACCESS: false keeps data-access records out of PostgreSQL (sink only). */
  storeDataAccess?: boolean;
  /**
   * The audit trail's periodic jobs (the server; tests that run the stack in-process leave them
   * out): signed checkpoints every `checkpointMs` to `checkpointFile` and the log, and the
   * retention purge every PURGE_MS.
   */
  audit?: { checkpointFile: string; checkpointMs: number; retentionDays: RetentionDays };
  /** Benchmarks only (`--bench-no-audit`): decisions are answered and not recorded. */
  discardDecisionRecords?: boolean;
}

/** How often the retention purge runs (it removes nothing while nothing has expired). */
const PURGE_MS = 60 * 60_000;

export interface DecisionStack {
  ctx: HotPathContext;
  stop(): Promise<void>;
}

export async function startDecisionStack(o: StackOptions): Promise<DecisionStack> {
  const ring = new KeyRing({ issuer: o.publicUrl, secret: o.authSecret });
  await ring.load(o.prisma);
  const stopKeys = ring.follow(o.prisma, { onError: (e) => o.log?.(`signing keys: ${(e as Error).message}`) });
  const verifier = new TokenVerifier({ ring });
  await verifier.refreshIssuers(o.prisma);
  const proxies = new ProxyCredentials(o.prisma);
  await proxies.load();
  // The engine reads the change feed on connections of its own: a mutation holds the revision
  // row and waits for this engine to reach it (lib/admin/mutation.ts), so the engine must never
  // queue behind the writers for a connection of the shared pool.
  const enginePrisma = createPrismaClient(o.databaseUrl, { max: 3 });
  const engine = new PolicyEngine(enginePrisma, {
    databaseUrl: o.databaseUrl,
    bootstrapAdmins: o.bootstrapAdmins,
    ...(o.maxStalenessMs !== undefined ? { maxStalenessMs: o.maxStalenessMs } : {}),
    ...(o.log ? { log: o.log } : {}),
    onChange: async (changes) => {
      if (changes.has("trustedIssuer")) await verifier.refreshIssuers(o.prisma);
      if (changes.has("proxyCredential")) await proxies.load();
    },
  });
  await engine.start();
  const log = new DecisionLog({
    databaseUrl: o.databaseUrl,
    spoolDir: o.spoolDir,
    ...(o.log ? { log: o.log } : {}),
    discard: o.discardDecisionRecords ?? false,
    ...(o.auditSink ? { sink: new NdjsonSink(o.auditSink) } : {}),
    ...(o.storeDataAccess === false ? { store: false } : {}),
  });
  log.start();
  const usageTimer = setInterval(() => void proxies.flushUsage().catch(() => {}), 60_000);
  usageTimer.unref();
  const stopAudit = startAuditJobs(o);
  return {
    ctx: {
      prisma: o.prisma,
      proxies,
      publicUrl: o.publicUrl,
      authSecret: o.authSecret,
      engine,
      ring,
      verifier,
      log,
      appSessions: new AppSessions(o.prisma, o.authSecret),
    },
    async stop() {
      clearInterval(usageTimer);
      stopKeys();
      await engine.stop();
      await enginePrisma.$disconnect().catch(() => {});
      await log.stop();
      // After the last flush, so that the shutdown checkpoint covers every record written.
      await stopAudit();
    },
  };
}

/** Starts the checkpoint and retention jobs; the returned function stops them (writing a last checkpoint). */
function startAuditJobs(o: StackOptions): () => Promise<void> {
  const audit = o.audit;
  if (!audit) return async () => {};
  const say = o.log ?? ((m: string) => console.log(m));
  const sink = { file: audit.checkpointFile, log: say };
  const stopCheckpoints = new CheckpointWriter(o.prisma, sink).start(audit.checkpointMs);
  const purge = () =>
    purgeExpired(o.prisma, audit.retentionDays, sink).then(
      (results) => {
        for (const r of results) if (r.purged) say(`audit: purged ${r.purged} ${r.stream} records through seq ${r.anchor!.seq} (retention)`);
      },
      (e: unknown) => say(`audit: retention purge failed: ${(e as Error).message}`),
    );
  const retains = Object.values(audit.retentionDays).some((d) => d > 0);
  // Soon after start too: an instance restarted more often than PURGE_MS still purges.
  const timers = retains ? [setTimeout(() => void purge(), 30_000), setInterval(() => void purge(), PURGE_MS)] : [];
  for (const t of timers) t.unref();
  return async () => {
    for (const t of timers) clearInterval(t);
    await stopCheckpoints();
  };
}

/** An http server answering only the hot paths (404 otherwise): tests and --api-only. */
export function hotPathServer(ctx: HotPathContext): http.Server {
  return http.createServer((req, res) => {
    if (handleHotPath(ctx, req, res)) return;
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { code: "NOT_FOUND", message: "not a decision API path" } }));
  });
}
