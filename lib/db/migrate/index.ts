/**
 * Prisma migrations without the native schema engine: the same operations and the same files and
 * `_prisma_migrations` rows as `prisma migrate dev|deploy`, through Prisma's WebAssembly schema
 * engine (see ./engine.ts). The stock CLI can take over wherever its binary is available.
 */
import fsp from "node:fs/promises";
import path from "node:path";
import {
  MIGRATION_LOCK_CONTENT,
  MIGRATION_LOCK_FILE,
  NO_FILTER,
  SchemaEngineError,
  parsePgUrl,
  readMigrationsDirectory,
  readSchemaFiles,
  redactUrl,
  withPgClient,
  withSchemaEngine,
  type PgFields,
} from "./engine";

export const DEFAULT_SCHEMA_PATH = "prisma/schema.prisma";
export const DEFAULT_MIGRATIONS_DIR = "prisma/migrations";

/** Expected failures (bad input, failed migration, drift…): print `message`, no stack trace. */
export class MigrationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MigrationError";
  }
}

// Held (on its own connection) for the whole of an apply/create, so concurrent processes queue up
// instead of racing. Not Prisma's key (72707369): the engine takes that one itself, on another
// connection of this same process, with a 10 s timeout.
const GATEHOUSE_MIGRATE_LOCK = 1_734_435_941; // "gate"
const LOCK_WAIT = "120s";

async function withMigrationLock<T>(db: PgFields, fn: () => Promise<T>): Promise<T> {
  try {
    return await withPgClient(db, async (client) => {
      await client.query(`SET lock_timeout = '${LOCK_WAIT}'`);
      await client.query("SELECT pg_advisory_lock($1)", [GATEHOUSE_MIGRATE_LOCK]);
      try {
        return await fn();
      } finally {
        await client.query("SELECT pg_advisory_unlock($1)", [GATEHOUSE_MIGRATE_LOCK]).catch(() => {});
      }
    });
  } catch (e) {
    throw asMigrationError(e, db);
  }
}

function asMigrationError(e: unknown, db?: PgFields): Error {
  if (e instanceof MigrationError) return e;
  if (e instanceof SchemaEngineError) return new MigrationError(e.message.trim(), { cause: e });
  const err = e as { code?: string; message?: string };
  const where = db ? ` (${db.user}@${db.host}:${db.port}/${db.database})` : "";
  switch (err.code) {
    case "ECONNREFUSED":
    case "ENOTFOUND":
    case "ETIMEDOUT":
    case "EAI_AGAIN":
      return new MigrationError(`cannot reach the database server${where}: ${err.message}`, { cause: e });
    case "28P01":
    case "28000":
      return new MigrationError(`authentication failed${where}: ${err.message}`, { cause: e });
    case "3D000":
      return new MigrationError(`database does not exist${where}: ${err.message}`, { cause: e });
    case "55P03":
      return new MigrationError(`timed out after ${LOCK_WAIT} waiting for another migration run${where}`, { cause: e });
    case "42501":
      return new MigrationError(`permission denied${where}: ${err.message}`, { cause: e });
  }
  return e instanceof Error ? e : new Error(String(e));
}

function toFields(databaseUrl: string): PgFields {
  try {
    return parsePgUrl(databaseUrl);
  } catch (e) {
    throw new MigrationError((e as Error).message);
  }
}

// ---------------------------------------------------------------------------------------------

export interface ApplyOptions {
  migrationsDir?: string;
}

/**
 * `prisma migrate deploy`: applies pending prisma/migrations/* to the database and records them
 * in `_prisma_migrations`. Serialised across processes. Throws MigrationError when a migration
 * fails, was edited after being applied, or a previous attempt failed.
 */
export async function applyMigrations(databaseUrl: string, options: ApplyOptions = {}): Promise<{ applied: string[] }> {
  const db = toFields(databaseUrl);
  const migrationsList = await readMigrationsDirectory(options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR);
  if (migrationsList.migrationDirectories.length === 0) return { applied: [] };
  return withMigrationLock(db, async () => {
    const out = await withSchemaEngine({ database: db }, (engine) =>
      engine.applyMigrations({ migrationsList, filters: NO_FILTER }),
    ).catch((e) => {
      const err = asMigrationError(e, db);
      if (err instanceof MigrationError) err.message = `applying migrations from ${migrationsList.baseDir} failed: ${err.message}`;
      throw err;
    });
    return { applied: out.appliedMigrationNames };
  });
}

export interface CreateMigrationOptions {
  /** Migration name (slugified like the Prisma CLI does): `add_users` → `20250101120000_add_users`. */
  name: string;
  databaseUrl: string;
  schemaPath?: string;
  migrationsDir?: string;
  /**
   * Server on which the throw-away shadow database is created (any database on it; default: the
   * server of `databaseUrl`). The user needs CREATEDB there.
   */
  shadowServerUrl?: string;
  /** Write the migration without applying it (`--create-only`). */
  createOnly?: boolean;
  /** Go ahead even though the migration may lose data (dropped columns/tables…). */
  acceptDataLoss?: boolean;
  /** When the database has drifted from the migration history, reset it (ALL DATA LOST). */
  resetOnDrift?: boolean;
}

export interface CreateMigrationResult {
  /** Directory name of the new migration, or null when the schema had no changes. */
  migration: string | null;
  /** Path to the written migration.sql (null when nothing was written). */
  file: string | null;
  /** Migrations applied to the database (pending ones first, then the new one). */
  applied: string[];
  /** Data-loss warnings for the new migration. */
  warnings: string[];
  /** True when the database was reset because it had drifted. */
  reset: boolean;
}

/**
 * `prisma migrate dev --name X`: applies pending migrations, diffs the migration history
 * (replayed on a shadow database) against the Prisma schema, writes
 * `<migrationsDir>/<timestamp>_<name>/migration.sql` (+ migration_lock.toml) and applies it.
 * When the schema has no changes, writes nothing and returns `migration: null`.
 */
export async function createMigration(options: CreateMigrationOptions): Promise<CreateMigrationResult> {
  const migrationName = slugifyMigrationName(options.name);
  const db = toFields(options.databaseUrl);
  const shadowServer = options.shadowServerUrl ? toFields(options.shadowServerUrl) : undefined;
  const migrationsDir = path.resolve(options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR);
  const schemaFiles = await readSchemaFiles(options.schemaPath ?? DEFAULT_SCHEMA_PATH).catch((e: Error) => {
    throw new MigrationError(e.message);
  });

  return withMigrationLock(db, () =>
    withSchemaEngine({ database: db, shadowServer, schemaFiles }, async (engine) => {
      let migrationsList = await readMigrationsDirectory(migrationsDir);
      const result: CreateMigrationResult = { migration: null, file: null, applied: [], warnings: [], reset: false };

      // Same sequence as `prisma migrate dev`. devDiagnostic replays the history on a shadow
      // database (which also primes the engine's cache that createMigration relies on: the wasm
      // engine's createMigration cannot open a shadow database by itself).
      const diagnostic = await engine.devDiagnostic({ migrationsList, filters: NO_FILTER });
      if (diagnostic.action.tag === "reset") {
        if (!options.resetOnDrift) {
          throw new MigrationError(
            `The database must be reset before a new migration can be created:\n${indent(diagnostic.action.reason)}\n` +
              `Reset it (ALL DATA in ${db.database} is lost) with --reset, or fix the migration history.`,
          );
        }
        await engine.reset({ filter: NO_FILTER });
        result.reset = true;
        // Prime the engine's migration-history cache again (see above).
        await engine.devDiagnostic({ migrationsList, filters: NO_FILTER });
      }
      result.applied.push(...(await engine.applyMigrations({ migrationsList, filters: NO_FILTER })).appliedMigrationNames);
      // Applying migrations drops that cache: prime it again, or createMigration asks for a
      // shadow database it cannot open ("must be provided through an external factory").
      if (result.applied.length > 0) await engine.devDiagnostic({ migrationsList, filters: NO_FILTER });

      const dataLoss = await engine.evaluateDataLoss({ migrationsList, schema: { files: schemaFiles }, filters: NO_FILTER });
      if (dataLoss.unexecutableSteps.length > 0 && !options.createOnly) {
        throw new MigrationError(
          `The migration cannot be applied to this database as it is:\n${dataLoss.unexecutableSteps.map((s) => `  - ${s.message}`).join("\n")}\n` +
            `Use --create-only to write it, then edit migration.sql by hand.`,
        );
      }
      result.warnings = dataLoss.warnings.map((w) => w.message);
      if (result.warnings.length > 0 && !options.acceptDataLoss && !options.createOnly) {
        throw new MigrationError(
          `The migration would lose data:\n${result.warnings.map((w) => `  - ${w}`).join("\n")}\n` +
            `Re-run with --accept-data-loss to go ahead, or --create-only to review it first.`,
        );
      }

      const created = await engine.createMigration({
        draft: false,
        migrationName,
        migrationsList,
        schema: { files: schemaFiles },
        filters: NO_FILTER,
      });
      if (created.migrationScript === null) return result;

      const migrationDirName = ensureAfter(
        created.generatedMigrationName,
        migrationsList.migrationDirectories.map((d) => d.path),
      );
      const dir = path.join(migrationsDir, migrationDirName);
      await fsp.mkdir(dir, { recursive: true });
      const file = path.join(dir, `migration.${created.extension}`);
      await fsp.writeFile(file, created.migrationScript);
      const lockFile = path.join(migrationsDir, MIGRATION_LOCK_FILE);
      if (migrationsList.lockfile.content === null) await fsp.writeFile(lockFile, MIGRATION_LOCK_CONTENT);
      result.migration = migrationDirName;
      result.file = file;

      if (!options.createOnly) {
        migrationsList = await readMigrationsDirectory(migrationsDir);
        result.applied.push(...(await engine.applyMigrations({ migrationsList, filters: NO_FILTER })).appliedMigrationNames);
      // Applying migrations drops that cache: prime it again, or createMigration asks for a
      // shadow database it cannot open ("must be provided through an external factory").
      if (result.applied.length > 0) await engine.devDiagnostic({ migrationsList, filters: NO_FILTER });
      }
      return result;
    }).catch((e) => {
      throw asMigrationError(e, db);
    }),
  );
}

export interface DiffOptions {
  /**
   * Any database on a server where a shadow database may be created (the migrations are replayed
   * there). Only the server is used; the database itself is not read or changed.
   */
  databaseUrl: string;
  schemaPath?: string;
  migrationsDir?: string;
}

/**
 * The SQL that would take a database built from the migrations directory to the Prisma schema:
 * "" when they are in sync. For drift checks in tests/CI.
 */
export async function diffMigrationsAgainstSchema(options: DiffOptions): Promise<string> {
  const db = toFields(options.databaseUrl);
  const schemaFiles = await readSchemaFiles(options.schemaPath ?? DEFAULT_SCHEMA_PATH).catch((e: Error) => {
    throw new MigrationError(e.message);
  });
  const migrationsList = await readMigrationsDirectory(options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR);
  // The engine insists on a lock file naming the provider; none is written before the first migration.
  migrationsList.lockfile.content ??= MIGRATION_LOCK_CONTENT;
  const from = migrationsList.migrationDirectories.length
    ? ({ tag: "migrations", ...migrationsList } as const)
    : ({ tag: "empty" } as const);
  const out = await withSchemaEngine({ database: db, schemaFiles }, (engine) =>
    engine.diff({
      from,
      to: { tag: "schemaDatamodel", files: schemaFiles },
      script: true,
      exitCode: true,
      filters: NO_FILTER,
    }),
  ).catch((e) => {
    throw asMigrationError(e, db);
  });
  return out.exitCode === 0 ? "" : (out.stdout ?? "").trim();
}

/** Migration names as the Prisma CLI writes them: lowercase, `_`-separated, at most 200 chars. */
export function slugifyMigrationName(name: string): string {
  const slug = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, 200);
  if (!slug) throw new MigrationError(`invalid migration name ${JSON.stringify(name)}: use letters, digits and _`);
  return slug;
}

/**
 * Migrations run in directory-name order. Two created within the same second (scripts, tests)
 * would sort by name instead: bump the new timestamp past the newest existing one.
 */
function ensureAfter(generated: string, existing: string[]): string {
  const m = /^(\d{14})_(.*)$/.exec(generated);
  if (!m) return generated;
  const newest = existing
    .map((d) => /^(\d{14})_/.exec(d)?.[1])
    .filter((t): t is string => !!t)
    .sort()
    .at(-1);
  if (!newest || m[1]! > newest) return generated;
  const t = (s: string, a: number, b: number) => Number(s.slice(a, b));
  const date = new Date(Date.UTC(t(newest, 0, 4), t(newest, 4, 6) - 1, t(newest, 6, 8), t(newest, 8, 10), t(newest, 10, 12), t(newest, 12, 14) + 1));
  const stamp = date.toISOString().replace(/[-:T]/g, "").slice(0, 14);
  return `${stamp}_${m[2]}`;
}

function indent(text: string): string {
  return text
    .trim()
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
}

export { redactUrl };
