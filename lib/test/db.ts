/**
 * Per-test-file databases for integration tests (`lib/**\/*.int.test.ts`).
 *
 *   const t = await createTestDatabase();          // migrated, fresh, uniquely named
 *   await t.prisma.user.findMany();                // Prisma client on it (created on first use)
 *   afterAll(() => t.drop());
 *
 * The server comes from lib/test/global-setup.ts (one per run).
 */
import crypto from "node:crypto";
import { inject } from "vitest";
import { createPrismaClient, type Db } from "@/lib/db/client";
import type { GatehouseTestDbInfo } from "./global-setup";
import { assertLocalDatabaseUrl, withAdmin, withDatabase } from "./guard";

export interface TestDatabase {
  /** Database name (unique per call). */
  name: string;
  /** Connection URL of this database. */
  url: string;
  /** A Prisma client for `url`, created on first access and disconnected by `drop()`. */
  readonly prisma: Db;
  /** Disconnects the Prisma client (if any) and drops the database (even with open connections). */
  drop(): Promise<void>;
}

export interface CreateTestDatabaseOptions {
  /** Clone the migrated template (default) or start from an empty database. */
  migrated?: boolean;
}

let counter = 0;

export function testDbInfo(): GatehouseTestDbInfo {
  const info = inject("gatehouseTestDb");
  if (!info) {
    throw new Error("no test database server: run integration tests with `vitest run --project integration`");
  }
  assertLocalDatabaseUrl(info.adminUrl, "the test database server");
  return info;
}

export async function createTestDatabase(options: CreateTestDatabaseOptions = {}): Promise<TestDatabase> {
  const info = testDbInfo();
  const name = `${info.prefix}_${process.pid}_${++counter}_${crypto.randomBytes(3).toString("hex")}`;
  await withAdmin(info.adminUrl, (c) =>
    c.query(
      options.migrated === false
        ? `CREATE DATABASE ${c.escapeIdentifier(name)}`
        : `CREATE DATABASE ${c.escapeIdentifier(name)} TEMPLATE ${c.escapeIdentifier(info.templateDatabase)}`,
    ),
  );
  const url = withDatabase(info.adminUrl, name);
  let prisma: Db | null = null;
  let dropped = false;
  return {
    name,
    url,
    get prisma(): Db {
      if (dropped) throw new Error(`test database ${name} was dropped`);
      prisma ??= createPrismaClient(url);
      return prisma;
    },
    async drop() {
      if (dropped) return;
      dropped = true;
      await prisma?.$disconnect().catch(() => {});
      await withAdmin(info.adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`));
    },
  };
}

