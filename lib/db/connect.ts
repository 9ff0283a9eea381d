// Resolves the database for the server and the CLI: DATABASE_URL when set, otherwise the
// embedded PostgreSQL under GATEHOUSE_DATA_DIR (reusing a running one). Checks that it can be
// reached (a readable message, not a stack trace, when it cannot) and applies migrations.
import path from "node:path";
import pg from "pg";
import type { Env } from "@/lib/env";
import { ensureEmbeddedPostgres, EmbeddedPostgresError } from "./embedded";
import { applyMigrations } from "./migrate";

export class DatabaseUnavailableError extends Error {}

export interface ResolvedDatabase {
  url: string;
  embedded: boolean;
  /** The embedded cluster's directory (PGDATA); null with DATABASE_URL. */
  clusterDir: string | null;
  /** Stops the embedded server if this process started it. */
  stop(): Promise<void>;
  appliedMigrations: string[];
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable DATABASE_URL)";
  }
}

export async function resolveDatabase(env: Env): Promise<ResolvedDatabase> {
  let url = env.DATABASE_URL;
  let stop = async () => {};
  let clusterDir: string | null = null;
  if (!url) {
    try {
      const embedded = await ensureEmbeddedPostgres({ dataDir: path.join(env.GATEHOUSE_DATA_DIR, "postgres") });
      url = embedded.url;
      clusterDir = embedded.clusterDir;
      stop = () => embedded.stop();
    } catch (e) {
      // Every failure of the embedded server is one line that says what to do.
      if (e instanceof EmbeddedPostgresError) throw new DatabaseUnavailableError(`Embedded PostgreSQL: ${e.message}`);
      throw e;
    }
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
  } catch (e) {
    await stop();
    const reason = e instanceof Error ? e.message : String(e);
    throw new DatabaseUnavailableError(`Cannot reach the database at ${redact(url)}: ${reason}`);
  } finally {
    await client.end().catch(() => {});
  }
  const { applied } = await applyMigrations(url);
  process.env.DATABASE_URL = url;
  return { url, embedded: !env.DATABASE_URL, clusterDir, stop, appliedMigrations: applied };
}
