/**
 * Vitest globalSetup of the `integration` project: ONE PostgreSQL server for the whole run.
 *
 *  - TEST_DATABASE_URL set: use that server (it must be local unless GATEHOUSE_TEST_ALLOW_REMOTE_DB=1;
 *    its user needs CREATEDB). Only databases created by this run are dropped.
 *  - otherwise: a throw-away embedded PostgreSQL in a fresh temp directory (fsync off), stopped and
 *    deleted at the end.
 *
 * A template database with prisma/migrations applied is built once; lib/test/db.ts clones it per
 * test file (`CREATE DATABASE … TEMPLATE …`, a few ms). Tests read the server with
 * `inject("gatehouseTestDb")` (see lib/test/db.ts).
 */
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { ensureEmbeddedPostgres, type EmbeddedPostgres } from "../db/embedded";
import { applyMigrations } from "../db/migrate";
import { assertLocalDatabaseUrl, withAdmin, withDatabase } from "./guard";

export interface GatehouseTestDbInfo {
  /** URL of a maintenance database on the test server (CREATE/DROP DATABASE go through it). */
  adminUrl: string;
  /** Database with prisma/migrations applied, to clone. */
  templateDatabase: string;
  /** Migrations applied to the template. */
  migrations: string[];
  /** Prefix of every database this run creates. */
  prefix: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    gatehouseTestDb: GatehouseTestDbInfo;
  }
}

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const REPO_MIGRATIONS_DIR = path.join(REPO_ROOT, "prisma/migrations");

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = performance.now();
  // Tests must not reach the application's own database by accident either.
  if (process.env.DATABASE_URL) assertLocalDatabaseUrl(process.env.DATABASE_URL, "DATABASE_URL");

  let server: EmbeddedPostgres | null = null;
  let tempDir: string | null = null;
  let adminUrl = process.env.TEST_DATABASE_URL?.trim();
  if (adminUrl) {
    assertLocalDatabaseUrl(adminUrl, "TEST_DATABASE_URL");
  } else {
    tempDir = await fsp.mkdtemp(path.join(os.tmpdir(), "gatehouse-test-pg-"));
    server = await ensureEmbeddedPostgres({ dataDir: tempDir, database: "postgres", ephemeral: true });
    adminUrl = server.adminUrl;
  }

  const prefix = `gh_test_${process.pid}_${Date.now().toString(36)}`;
  const templateDatabase = `${prefix}_template`;
  const cleanup = async () => {
    try {
      if (server) {
        await server.stop();
      } else {
        await dropDatabases(adminUrl, prefix);
      }
    } finally {
      if (tempDir) await fsp.rm(tempDir, { recursive: true, force: true });
    }
  };

  try {
    await withAdmin(adminUrl, (c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(templateDatabase)}`));
    const { applied } = await applyMigrations(withDatabase(adminUrl, templateDatabase), {
      migrationsDir: REPO_MIGRATIONS_DIR,
    });
    if (applied.length === 0) {
      console.warn(
        `[integration] prisma/migrations holds no migrations: test databases are empty. ` +
          `Create the first one with: npm run db:migrate -- --name init`,
      );
    }
    const info: GatehouseTestDbInfo = { adminUrl, templateDatabase, migrations: applied, prefix };
    project.provide("gatehouseTestDb", info);
    if (process.env.GATEHOUSE_TEST_VERBOSE) {
      console.log(`[integration] PostgreSQL ready in ${Math.round(performance.now() - started)} ms`);
    }
  } catch (e) {
    await cleanup().catch(() => {});
    throw e;
  }
  return cleanup;
}


async function dropDatabases(adminUrl: string, prefix: string): Promise<void> {
  await withAdmin(adminUrl, async (c) => {
    const { rows } = await c.query<{ datname: string }>("SELECT datname FROM pg_database WHERE starts_with(datname, $1)", [
      prefix,
    ]);
    for (const { datname } of rows) {
      await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(datname)} WITH (FORCE)`);
    }
  });
}
