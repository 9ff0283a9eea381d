import crypto from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, testDbInfo, type TestDatabase } from "@/lib/test/db";
import { REPO_ROOT } from "@/lib/test/global-setup";
import { MIGRATION_LOCK_CONTENT } from "./engine";
import { MigrationError, applyMigrations, createMigration, diffMigrationsAgainstSchema, slugifyMigrationName } from "./index";

const SCHEMA_V1 = `datasource db {
  provider = "postgresql"
}

model Widget {
  id        Int      @id @default(autoincrement())
  name      String
  createdAt DateTime @default(now())
}
`;

const SCHEMA_V2 = SCHEMA_V1.replace(
  "  name      String\n",
  "  name      String\n  color     String   @default(\"blue\")\n\n  @@index([name])\n",
);

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql)).rows;
  } finally {
    await c.end();
  }
}

function sha256(file: string): string {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

const dirs = (migrationsDir: string) =>
  fs
    .readdirSync(migrationsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();

describe("migrations through the wasm schema engine (temporary schema + migrations dir)", () => {
  let tmp: string;
  let schemaPath: string;
  let migrationsDir: string;
  const dbs: TestDatabase[] = [];
  const fresh = async () => {
    const db = await createTestDatabase({ migrated: false });
    dbs.push(db);
    return db;
  };

  beforeAll(async () => {
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), "gatehouse-migrate-test-"));
    schemaPath = path.join(tmp, "schema.prisma");
    migrationsDir = path.join(tmp, "migrations");
    await fsp.writeFile(schemaPath, SCHEMA_V1);
  });
  afterAll(async () => {
    await Promise.all(dbs.map((d) => d.drop()));
    await fsp.rm(tmp, { recursive: true, force: true });
  });

  let devDb: TestDatabase;

  it("creates the first migration and migration_lock.toml, and applies it", async () => {
    devDb = await fresh();
    const r = await createMigration({ name: "init", databaseUrl: devDb.url, schemaPath, migrationsDir });
    expect(r.migration).toMatch(/^\d{14}_init$/);
    expect(r.applied).toEqual([r.migration]);
    expect(fs.readFileSync(path.join(migrationsDir, "migration_lock.toml"), "utf8")).toBe(MIGRATION_LOCK_CONTENT);
    const sql = fs.readFileSync(path.join(migrationsDir, r.migration!, "migration.sql"), "utf8");
    expect(sql).toContain('CREATE TABLE "Widget"');
    expect(await query(devDb.url, 'SELECT * FROM "Widget"')).toEqual([]);
  });

  it("writes nothing when the schema has no changes", async () => {
    const before = dirs(migrationsDir);
    const r = await createMigration({ name: "nothing", databaseUrl: devDb.url, schemaPath, migrationsDir });
    expect(r).toMatchObject({ migration: null, file: null, applied: [] });
    expect(dirs(migrationsDir)).toEqual(before);
  });

  it("reports drift between schema and migrations, and creates the next migration in order", async () => {
    await fsp.writeFile(schemaPath, SCHEMA_V2);
    const pendingSql = await diffMigrationsAgainstSchema({ databaseUrl: devDb.url, schemaPath, migrationsDir });
    expect(pendingSql).toContain('ALTER TABLE "Widget" ADD COLUMN     "color" TEXT NOT NULL DEFAULT \'blue\'');
    expect(pendingSql).toContain('CREATE INDEX "Widget_name_idx"');

    const r = await createMigration({ name: "Add widget color", databaseUrl: devDb.url, schemaPath, migrationsDir });
    expect(r.migration).toMatch(/^\d{14}_add_widget_color$/);
    expect(dirs(migrationsDir)).toHaveLength(2);
    expect(dirs(migrationsDir)[1]).toBe(r.migration); // ordered after init even within the same second
    expect(r.applied).toEqual([r.migration]);
    expect(await diffMigrationsAgainstSchema({ databaseUrl: devDb.url, schemaPath, migrationsDir })).toBe("");
  });

  it("applies all migrations to an empty database and records them like `prisma migrate deploy`", async () => {
    const db = await fresh();
    const expected = dirs(migrationsDir);
    const r = await applyMigrations(db.url, { migrationsDir });
    expect(r.applied).toEqual(expected);

    const rows = await query<{
      migration_name: string;
      checksum: string;
      finished_at: Date | null;
      rolled_back_at: Date | null;
      applied_steps_count: number;
      logs: string | null;
    }>(db.url, "SELECT * FROM _prisma_migrations ORDER BY migration_name");
    expect(rows.map((x) => x.migration_name)).toEqual(expected);
    for (const row of rows) {
      expect(row.checksum).toBe(sha256(path.join(migrationsDir, row.migration_name, "migration.sql")));
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.rolled_back_at).toBeNull();
      expect(row.applied_steps_count).toBe(1);
      expect(row.logs).toBeNull();
    }
    expect((await query(db.url, `SELECT "color" FROM "Widget"`)).length).toBe(0);

    // Second run: nothing to do.
    expect(await applyMigrations(db.url, { migrationsDir })).toEqual({ applied: [] });
  });

  it("is safe when several processes apply at once (advisory lock)", async () => {
    const db = await fresh();
    const results = await Promise.all([1, 2, 3].map(() => applyMigrations(db.url, { migrationsDir })));
    expect(results.flatMap((r) => r.applied).sort()).toEqual(dirs(migrationsDir));
    expect(results.filter((r) => r.applied.length > 0)).toHaveLength(1);
    const rows = await query<{ n: number }>(db.url, "SELECT count(*)::int AS n FROM _prisma_migrations");
    expect(rows[0]?.n).toBe(dirs(migrationsDir).length);
  });

  it("fails readably (and atomically) on a broken migration, then refuses to continue", async () => {
    const badDir = path.join(tmp, "bad-migrations");
    await fsp.cp(migrationsDir, badDir, { recursive: true });
    await fsp.mkdir(path.join(badDir, "29990101000000_broken"));
    await fsp.writeFile(
      path.join(badDir, "29990101000000_broken", "migration.sql"),
      `CREATE TABLE "Half" ("id" INTEGER);\nSELECT no_such_function();\n`,
    );
    const db = await fresh();
    await expect(applyMigrations(db.url, { migrationsDir: badDir })).rejects.toThrow(MigrationError);
    // The failed script left nothing behind (one transaction), the good ones were recorded.
    expect(await query(db.url, `SELECT to_regclass('"Half"') AS t`)).toEqual([{ t: null }]);
    const rows = await query<{ migration_name: string; finished_at: Date | null }>(
      db.url,
      "SELECT migration_name, finished_at FROM _prisma_migrations ORDER BY migration_name",
    );
    expect(rows.at(-1)).toMatchObject({ migration_name: "29990101000000_broken", finished_at: null });
    await expect(applyMigrations(db.url, { migrationsDir: badDir })).rejects.toThrow(/failed migrations/);
  });

  it("keeps `;` inside statements intact (no naive script splitting)", async () => {
    const dir = path.join(tmp, "semicolons");
    await fsp.mkdir(path.join(dir, "20250101000000_fn"), { recursive: true });
    await fsp.writeFile(path.join(dir, "migration_lock.toml"), MIGRATION_LOCK_CONTENT);
    await fsp.writeFile(
      path.join(dir, "20250101000000_fn", "migration.sql"),
      `CREATE TABLE "T" ("v" TEXT NOT NULL DEFAULT 'a;b');
CREATE FUNCTION one() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END; $$;
`,
    );
    const db = await fresh();
    expect((await applyMigrations(db.url, { migrationsDir: dir })).applied).toEqual(["20250101000000_fn"]);
    expect(await query(db.url, `SELECT one() AS one`)).toEqual([{ one: 1 }]);
  });

  it("slugifies names like the Prisma CLI", () => {
    expect(slugifyMigrationName("Add widget color")).toBe("add_widget_color");
    expect(slugifyMigrationName("addUserEmail")).toBe("add_user_email");
    expect(() => slugifyMigrationName("  ")).toThrow(MigrationError);
  });
});

describe("repository schema and migrations", () => {
  const repoMigrations = path.join(REPO_ROOT, "prisma/migrations");
  const repoSchema = path.join(REPO_ROOT, "prisma/schema.prisma");

  it("prisma/migrations is in sync with prisma/schema.prisma (drift check)", async () => {
    const existing = fs.existsSync(repoMigrations) ? dirs(repoMigrations) : [];
    expect(existing, "prisma/migrations has no migrations yet: run `npm run db:migrate -- --name init`").not.toEqual([]);
    const sql = await diffMigrationsAgainstSchema({
      databaseUrl: testDbInfo().adminUrl,
      schemaPath: repoSchema,
      migrationsDir: repoMigrations,
    });
    expect(sql, "prisma/schema.prisma has changes without a migration: run `npm run db:migrate -- --name <change>`").toBe("");
  });

  it("test databases are cloned from a template with every repository migration applied", async () => {
    const db = await createTestDatabase();
    try {
      const names = fs.existsSync(repoMigrations) ? dirs(repoMigrations) : [];
      expect(testDbInfo().migrations).toEqual(names);
      if (names.length > 0) {
        const rows = await query<{ migration_name: string }>(
          db.url,
          "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name",
        );
        expect(rows.map((r) => r.migration_name)).toEqual(names);
      }
    } finally {
      await db.drop();
    }
  });
});
