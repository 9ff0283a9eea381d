/**
 * npm run db:migrate                      apply pending migrations; report schema changes not yet in a migration
 * npm run db:migrate -- --name add_x      create prisma/migrations/<timestamp>_add_x from schema changes, apply it
 *
 * Uses DATABASE_URL when set, otherwise the embedded PostgreSQL under $GATEHOUSE_DATA_DIR/postgres
 * (.data/postgres): an already running one (dev server up) is reused, else it is started and
 * stopped again at the end.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { ensureEmbeddedPostgres, EmbeddedPostgresError, type EmbeddedPostgres } from "../embedded";
import {
  DEFAULT_MIGRATIONS_DIR,
  DEFAULT_SCHEMA_PATH,
  MigrationError,
  applyMigrations,
  createMigration,
  diffMigrationsAgainstSchema,
  redactUrl,
} from "./index";

const HELP = `Usage: npm run db:migrate -- [options]

Without --name: apply pending migrations, then report schema changes that have no migration yet.
With --name:    create a migration from the changes in the Prisma schema and apply it.

Options:
  -n, --name <name>        name of the new migration (e.g. add_audit_index)
      --create-only        write the migration but do not apply it
      --accept-data-loss   create/apply even if the migration drops data
      --reset              if the database drifted from the migration history, reset it (ALL DATA LOST)
      --schema <path>      Prisma schema (default ${DEFAULT_SCHEMA_PATH})
      --migrations <dir>   migrations directory (default ${DEFAULT_MIGRATIONS_DIR})
  -h, --help

Database: $DATABASE_URL if set, else the embedded PostgreSQL in $GATEHOUSE_DATA_DIR/postgres (.data/postgres).
Shadow database: created on the same server (or on $SHADOW_DATABASE_URL's server) and dropped afterwards.`;

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        name: { type: "string", short: "n" },
        "create-only": { type: "boolean", default: false },
        "accept-data-loss": { type: "boolean", default: false },
        reset: { type: "boolean", default: false },
        schema: { type: "string", default: DEFAULT_SCHEMA_PATH },
        migrations: { type: "string", default: DEFAULT_MIGRATIONS_DIR },
        help: { type: "boolean", short: "h", default: false },
      },
      allowPositionals: false,
    }).values;
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (args.help) {
    console.log(HELP);
    return 0;
  }
  if (args["create-only"] && !args.name) {
    console.error("error: --create-only needs --name");
    return 2;
  }

  const started = performance.now();
  let embedded: EmbeddedPostgres | null = null;
  try {
    let databaseUrl = process.env.DATABASE_URL?.trim();
    if (databaseUrl) {
      console.log(`Database: ${redactUrl(databaseUrl)} (DATABASE_URL)`);
    } else {
      const dataDir = path.join(process.env.GATEHOUSE_DATA_DIR || ".data", "postgres");
      embedded = await ensureEmbeddedPostgres({ dataDir });
      databaseUrl = embedded.url;
      console.log(
        `Database: embedded PostgreSQL in ${display(embedded.dataDir)} on port ${embedded.port}` +
          (embedded.startedHere ? "" : " (already running)"),
      );
    }

    if (args.name) {
      const r = await createMigration({
        name: args.name,
        databaseUrl,
        schemaPath: args.schema,
        migrationsDir: args.migrations,
        shadowServerUrl: process.env.SHADOW_DATABASE_URL || undefined,
        createOnly: args["create-only"],
        acceptDataLoss: args["accept-data-loss"],
        resetOnDrift: args.reset,
      });
      if (r.reset) console.log("Reset the database (it had drifted from the migration history).");
      const created = r.migration;
      const pending = created ? r.applied.filter((m) => m !== created) : r.applied;
      if (pending.length) console.log(`Applied pending migrations:\n${list(pending)}`);
      for (const w of r.warnings) console.log(`warning: ${w}`);
      if (!created) {
        console.log("No schema changes: no migration created.");
      } else {
        console.log(`Created ${display(r.file ?? "")}`);
        console.log(r.applied.includes(created) ? `Applied ${created}.` : `Not applied (--create-only).`);
      }
    } else {
      const r = await applyMigrations(databaseUrl, { migrationsDir: args.migrations });
      console.log(r.applied.length ? `Applied migrations:\n${list(r.applied)}` : "No pending migrations.");
      const diff = await diffMigrationsAgainstSchema({ databaseUrl, schemaPath: args.schema, migrationsDir: args.migrations });
      if (diff) {
        console.log(
          `\n${args.schema} has changes that no migration captures yet. Create one with:\n  npm run db:migrate -- --name <what_changed>`,
        );
      } else {
        console.log("Schema and migrations are in sync.");
      }
    }
    console.log(`Done in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
    return 0;
  } catch (e) {
    if (e instanceof MigrationError) {
      console.error(`error: ${e.message}`);
    } else if (e instanceof EmbeddedPostgresError) {
      console.error(`error: Embedded PostgreSQL: ${e.message}`);
    } else {
      console.error(e);
    }
    return 1;
  } finally {
    await embedded?.stop().catch(() => {});
  }
}

function display(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : p;
}

function list(names: string[]): string {
  return names.map((n) => `  - ${n}`).join("\n");
}

// The schema engine leaves a timer behind: exit explicitly.
main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
