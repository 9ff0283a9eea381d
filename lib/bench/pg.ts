// A fresh ephemeral embedded PostgreSQL with Gatehouse's schema, for the writer benchmarks: its
// URL, a connected client, its postmaster's pid (for treeCpuMs) and a scratch directory.
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";

export interface BenchDatabase {
  url: string;
  sql: pg.Client;
  postmaster: number;
  dir: string;
}

/** Runs `body` against a new database and removes it afterwards, whatever happens. */
export async function withBenchDatabase(name: string, body: (db: BenchDatabase) => Promise<void>): Promise<void> {
  const { ensureEmbeddedPostgres } = await import("@/lib/db/embedded");
  const { applyMigrations } = await import("@/lib/db/migrate");
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), `gatehouse-bench-${name}-`));
  const pgs = await ensureEmbeddedPostgres({ dataDir: dir, database: "bench", ephemeral: true });
  const postmaster = Number(fs.readFileSync(path.join(pgs.clusterDir, "postmaster.pid"), "utf8").split("\n")[0]);
  const sql = new pg.Client({ connectionString: pgs.url });
  try {
    await applyMigrations(pgs.url);
    await sql.connect();
    await body({ url: pgs.url, sql, postmaster, dir });
  } finally {
    await sql.end().catch(() => {});
    await pgs.stop();
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
