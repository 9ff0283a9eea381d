// The one Prisma client of the process (created lazily, reused across Next.js hot reloads).
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "@/lib/generated/prisma/client";

export type Db = PrismaClient;

const globalForPrisma = globalThis as unknown as { gatehousePrisma?: PrismaClient };

export function createPrismaClient(connectionString: string, opts: { max?: number } = {}): PrismaClient {
  // An idle connection dropped by the server (restart, failover) emits 'error' on the pool; without
  // a listener that would crash the process. The pool replaces the connection on next use.
  const pool = new pg.Pool({ connectionString, max: opts.max ?? 10 });
  pool.on("error", (e) => console.error(`database connection lost: ${e.message}`));
  return new PrismaClient({
    adapter: new PrismaPg(pool),
    // Secrets are never selected unless a query asks for them explicitly.
    omit: { node: { oauthClientSecret: true }, user: { passwordHash: true }, signingKey: { privateJwk: true } },
  });
}

export function db(): PrismaClient {
  if (!globalForPrisma.gatehousePrisma) {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error("DATABASE_URL is not resolved: the Gatehouse server or CLI sets it before use");
    globalForPrisma.gatehousePrisma = createPrismaClient(url);
  }
  return globalForPrisma.gatehousePrisma;
}
