// The one Prisma client of the process (created lazily, reused across Next.js hot reloads).
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "@/lib/generated/prisma/client";

export type Db = PrismaClient;

const globalForPrisma = globalThis as unknown as { gatehousePrisma?: PrismaClient };

export function createPrismaClient(connectionString: string): PrismaClient {
  return new PrismaClient({
    adapter: new PrismaPg({ connectionString }),
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
