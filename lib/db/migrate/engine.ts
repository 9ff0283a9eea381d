/**
 * Prisma's schema engine (WebAssembly build, `@prisma/schema-engine-wasm`) driven through
 * `@prisma/adapter-pg`. This replaces the native schema-engine binary that `prisma migrate`
 * needs and that cannot be downloaded here (see /work/shared/STACK.md, "Prisma 7 here").
 *
 * Snags handled here:
 *  - The package's entry does a bundler-style `import * as wasm from "./x.wasm"`, which Node
 *    cannot load: we compile the .wasm ourselves and hand it to the JS glue.
 *  - adapter-pg rejects result columns of the pg_catalog types `"char"` (oid 18) and `name`
 *    (oid 19) that the engine's introspection queries return (prisma/orm#27403): our pg client
 *    reports them as `text` (oid 25); their values already arrive as strings.
 *  - adapter-pg's shadow database support spreads its pool config and sets `database`, which a
 *    `connectionString` silently overrides (the "shadow" becomes the main database). We build
 *    both pools from discrete host/port/user/password/database fields and manage the shadow
 *    database ourselves.
 *  - adapter-pg's `executeScript` splits scripts on every `;` (breaking `$$ … ; … $$` bodies and
 *    string literals) and runs the pieces in autocommit. We send a script as one simple-protocol
 *    query instead, as the native engine does (atomic unless the script manages transactions).
 *  - The engine leaves a ~10 s timer behind: CLIs must call process.exit when done.
 */
import crypto from "node:crypto";
import fsp from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import type * as WasmEngine from "@prisma/schema-engine-wasm";

export type SchemaEngine = WasmEngine.SchemaEngine;
export type MigrationList = WasmEngine.MigrationList;
export type SchemaContainer = WasmEngine.SchemaContainer;

type EngineModule = typeof WasmEngine;

let enginePromise: Promise<EngineModule> | null = null;

/** Instantiates the wasm module once per process (~5 MB; compiled lazily). */
export function loadSchemaEngineModule(): Promise<EngineModule> {
  enginePromise ??= (async () => {
    const require = createRequire(import.meta.url);
    const gluePath = require.resolve("@prisma/schema-engine-wasm/schema_engine_bg");
    const glue = (await import("@prisma/schema-engine-wasm/schema_engine_bg")) as EngineModule & {
      __wbg_set_wasm(exports: WebAssembly.Exports): void;
    };
    const bytes = await fsp.readFile(path.join(path.dirname(gluePath), "schema_engine_bg.wasm"));
    const { instance } = await WebAssembly.instantiate(bytes, {
      "./schema_engine_bg.js": glue as unknown as WebAssembly.ModuleImports,
    });
    glue.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return glue;
  })();
  enginePromise.catch(() => (enginePromise = null));
  return enginePromise;
}

// ---------------------------------------------------------------------------------------------
// pg plumbing

/** Discrete connection fields (never a connection string, see the shadow database snag). */
export type PgFields = Required<Pick<pg.ClientConfig, "host" | "port" | "user" | "database">> &
  Pick<pg.ClientConfig, "password" | "ssl">;

export function parsePgUrl(url: string): PgFields {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`not a valid PostgreSQL URL: ${redactUrl(url)}`);
  }
  if (u.protocol !== "postgresql:" && u.protocol !== "postgres:") {
    throw new Error(`not a PostgreSQL URL (${u.protocol}): ${redactUrl(url)}`);
  }
  const sslmode = u.searchParams.get("sslmode");
  const database = decodeURIComponent(u.pathname.replace(/^\//, "")) || "postgres";
  return {
    host: decodeURIComponent(u.hostname.replace(/^\[|\]$/g, "")) || "localhost",
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username) || "postgres",
    password: decodeURIComponent(u.password),
    database,
    ...(sslmode && sslmode !== "disable" ? { ssl: sslmode === "require" ? { rejectUnauthorized: false } : true } : {}),
  };
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@]*@/, "//$1:***@");
}

const OID_CHAR = 18;
const OID_NAME = 19;
const OID_TEXT = 25;

type QueryResultLike = { fields?: { dataTypeID: number }[] };

function retypeFields(result: unknown): void {
  for (const r of (Array.isArray(result) ? result : [result]) as QueryResultLike[]) {
    for (const f of r?.fields ?? []) {
      if (f.dataTypeID === OID_CHAR || f.dataTypeID === OID_NAME) f.dataTypeID = OID_TEXT;
    }
  }
}

/** pg.Client reporting `"char"` and `name` columns as text (prisma/orm#27403). */
class CatalogFriendlyClient extends pg.Client {
  // pg's overloads (promise, callback as 2nd or 3rd argument, Submittable) are kept as they are.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(config: any, values?: any, callback?: any): any {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const call = (...args: any[]) => (pg.Client.prototype.query as (...a: any[]) => any).apply(this, args);
    const wrap =
      (cb: (err: unknown, res: unknown) => void) =>
      (err: unknown, res: unknown): void => {
        if (!err) retypeFields(res);
        cb(err, res);
      };
    if (config && typeof config.submit === "function") return call(config, values, callback);
    if (typeof values === "function") return call(config, wrap(values));
    if (typeof callback === "function") return call(config, values, wrap(callback));
    if (config && typeof config === "object" && typeof config.callback === "function") {
      return call({ ...config, callback: wrap(config.callback) }, values);
    }
    return call(config, values).then((r: unknown) => {
      retypeFields(r);
      return r;
    });
  }
}

function makePool(fields: PgFields): pg.Pool {
  const pool = new pg.Pool({ ...fields, Client: CatalogFriendlyClient, max: 4, idleTimeoutMillis: 0 });
  pool.on("error", () => {}); // idle-client errors surface on the next query instead
  return pool;
}

async function connectAdapter(fields: PgFields, onDispose?: () => Promise<void>): Promise<SqlDriverAdapter> {
  const pool = makePool(fields);
  const adapter = await new PrismaPg(pool, { disposeExternalPool: true }).connect();
  // One simple-protocol query per script, like the native engine (see header).
  adapter.executeScript = async (script: string) => {
    try {
      await pool.query(script);
    } catch (e) {
      (adapter as unknown as { onError(e: unknown): never }).onError(e);
    }
  };
  const dispose = adapter.dispose.bind(adapter);
  adapter.dispose = async () => {
    await dispose();
    await onDispose?.();
  };
  return adapter;
}

/** Runs `fn` with a short-lived single connection. */
export async function withPgClient<T>(fields: PgFields, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...fields, connectionTimeoutMillis: 10_000 });
  client.on("error", () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export interface AdapterFactoryOptions {
  /** Main database. */
  database: PgFields;
  /**
   * Server (any database on it) where a throw-away shadow database may be created. Defaults to
   * the main database's server. The shadow database is dropped when the engine releases it.
   */
  shadowServer?: PgFields;
}

/** adapter-pg, migration-aware, with the fixes described in the header. */
export class GatehouseMigrationAdapterFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = "postgres" as const;
  readonly adapterName = "@prisma/adapter-pg";
  /** Shadow databases created and not yet dropped. */
  private readonly liveShadows = new Set<string>();
  /** Adapters (pools) not yet disposed. The engine does not dispose its main connection when freed,
   *  and that connection holds Prisma's migration advisory lock: `close()` must run after use. */
  private readonly openAdapters = new Set<SqlDriverAdapter>();

  constructor(private readonly options: AdapterFactoryOptions) {}

  private async track(adapter: Promise<SqlDriverAdapter>): Promise<SqlDriverAdapter> {
    const a = await adapter;
    this.openAdapters.add(a);
    const dispose = a.dispose.bind(a);
    a.dispose = async () => {
      this.openAdapters.delete(a);
      await dispose();
    };
    return a;
  }

  connect(): Promise<SqlDriverAdapter> {
    return this.track(connectAdapter(this.options.database));
  }

  async connectToShadowDb(): Promise<SqlDriverAdapter> {
    const server = this.options.shadowServer ?? this.options.database;
    const name = `gatehouse_shadow_${Date.now().toString(36)}_${crypto.randomBytes(4).toString("hex")}`;
    await withPgClient(server, (c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`));
    this.liveShadows.add(name);
    return this.track(
      connectAdapter({ ...server, database: name }, async () => {
        await dropDatabase(server, name);
        this.liveShadows.delete(name);
      }),
    );
  }

  /** Disposes every connection pool and drops any shadow database still around. */
  async close(): Promise<void> {
    for (const a of [...this.openAdapters]) await a.dispose().catch(() => {});
    const server = this.options.shadowServer ?? this.options.database;
    for (const name of [...this.liveShadows]) {
      await dropDatabase(server, name).catch(() => {});
      this.liveShadows.delete(name);
    }
  }
}

async function dropDatabase(server: PgFields, name: string): Promise<void> {
  await withPgClient(server, (c) => c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`));
}

// ---------------------------------------------------------------------------------------------
// engine lifecycle

export interface EngineOptions extends AdapterFactoryOptions {
  /** Prisma schema files (path, content) the engine should know about. */
  schemaFiles?: SchemaContainer[];
}

/** Error thrown by the engine, with the engine's message (often a Prisma error code inside). */
export class SchemaEngineError extends Error {
  constructor(
    message: string,
    readonly logs: string[],
  ) {
    super(message);
    this.name = "SchemaEngineError";
  }
}

/** Creates an engine for the given database(s), runs `fn`, and frees everything. */
export async function withSchemaEngine<T>(options: EngineOptions, fn: (engine: SchemaEngine) => Promise<T>): Promise<T> {
  const wasm = await loadSchemaEngineModule();
  const factory = new GatehouseMigrationAdapterFactory(options);
  const logs: string[] = [];
  const engine = await wasm.SchemaEngine.new(
    { datamodels: options.schemaFiles?.map((f) => [f.path, f.content] as [string, string]) },
    (log: string) => {
      logs.push(log);
      if (logs.length > 200) logs.shift();
    },
    bindMigrationAwareSqlAdapterFactory(factory),
  ).catch(async (e: unknown) => {
    await factory.close();
    throw toEngineError(e, logs);
  });
  try {
    return await fn(engine).catch((e: unknown) => {
      throw toEngineError(e, logs);
    });
  } finally {
    engine.free();
    await factory.close();
  }
}

function toEngineError(e: unknown, logs: string[]): Error {
  if (e instanceof SchemaEngineError) return e;
  let message = e instanceof Error ? e.message : typeof e === "string" ? e : JSON.stringify(e);
  // Drop the engine's span trace ("   0: schema_engine_wasm::…\n      at schema-engine/…").
  message = message
    .split("\n")
    .filter((l) => !/^\s+\d+: \S+::/.test(l) && !/^\s+(at|with) /.test(l))
    .join("\n")
    .trim();
  if (/unreachable|RuntimeError/i.test(message) && globalPanicMessage()) {
    message = `${globalPanicMessage()} (${message})`;
  }
  return new SchemaEngineError(message, logs);
}

function globalPanicMessage(): string | undefined {
  const reg = (globalThis as { PRISMA_WASM_PANIC_REGISTRY?: { get(): string } }).PRISMA_WASM_PANIC_REGISTRY;
  return reg?.get();
}

// ---------------------------------------------------------------------------------------------
// migrations directory

export const MIGRATION_LOCK_FILE = "migration_lock.toml";
export const MIGRATION_LOCK_CONTENT = `# Please do not edit this file manually
# It should be added in your version-control system (e.g., Git)
provider = "postgresql"
`;

/** Reads prisma/migrations the way the Prisma CLI does (sorted directory names). */
export async function readMigrationsDirectory(migrationsDir: string): Promise<MigrationList> {
  const baseDir = path.resolve(migrationsDir);
  const lockContent = await fsp.readFile(path.join(baseDir, MIGRATION_LOCK_FILE), "utf8").catch(() => null);
  const entries = await fsp.readdir(baseDir, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return [];
    throw e;
  });
  const migrationDirectories: WasmEngine.MigrationDirectory[] = [];
  for (const entry of entries.filter((d) => d.isDirectory())) {
    const content = await fsp
      .readFile(path.join(baseDir, entry.name, "migration.sql"), "utf8")
      .then((value) => ({ tag: "ok" as const, value }))
      .catch((e: Error) => ({ tag: "error" as const, value: e.message }));
    migrationDirectories.push({ path: entry.name, migrationFile: { path: "migration.sql", content } });
  }
  migrationDirectories.sort((a, b) => a.path.localeCompare(b.path));
  return {
    baseDir,
    lockfile: { path: MIGRATION_LOCK_FILE, content: lockContent },
    migrationDirectories,
    shadowDbInitScript: "",
  };
}

export async function readSchemaFiles(schemaPath: string): Promise<SchemaContainer[]> {
  const abs = path.resolve(schemaPath);
  const stat = await fsp.stat(abs).catch(() => null);
  if (!stat) throw new Error(`Prisma schema not found: ${schemaPath}`);
  if (!stat.isDirectory()) return [{ path: abs, content: await fsp.readFile(abs, "utf8") }];
  // Multi-file schema: every .prisma file under the folder.
  const files: SchemaContainer[] = [];
  for (const rel of (await fsp.readdir(abs, { recursive: true })).sort()) {
    if (rel.endsWith(".prisma")) {
      const p = path.join(abs, rel);
      files.push({ path: p, content: await fsp.readFile(p, "utf8") });
    }
  }
  return files;
}

export const NO_FILTER: WasmEngine.SchemaFilter = { externalTables: [], externalEnums: [] };
