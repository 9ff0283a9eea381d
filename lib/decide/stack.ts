// Builds and tears down the decision stack of one instance: signing keys, token verification,
// proxy credentials, the live policy engine and the decision audit log. Used by the server and
// by tests that run the hot paths in-process.
import http from "node:http";
import type { PrismaClient } from "@/lib/generated/prisma/client";
import { createPrismaClient } from "@/lib/db/client";
import { DecisionLog } from "@/lib/audit/decisions";
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
}

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
  const log = new DecisionLog({ databaseUrl: o.databaseUrl, spoolDir: o.spoolDir, ...(o.log ? { log: o.log } : {}) });
  log.start();
  const usageTimer = setInterval(() => void proxies.flushUsage().catch(() => {}), 60_000);
  usageTimer.unref();
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
    },
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
