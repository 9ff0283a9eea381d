import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { ensureEmbeddedPostgres } from "@/lib/db/embedded";
import { createTestDatabase, testDbInfo } from "./db";
import { assertLocalDatabaseUrl, isLocalDatabaseUrl } from "./guard";

async function scalar<T>(url: string, sql: string): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const res: pg.QueryResult | pg.QueryResult[] = await c.query(sql);
    const last = Array.isArray(res) ? res.at(-1) : res; // multi-statement: the last result
    return Object.values(last?.rows[0] ?? {})[0] as T;
  } finally {
    await c.end();
  }
}

describe("createTestDatabase", () => {
  it("creates isolated, uniquely named databases and drops them", async () => {
    const [a, b] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    expect(a.name).not.toBe(b.name);
    await scalar(a.url, "CREATE TABLE only_in_a (id int)");
    expect(await scalar(b.url, "SELECT to_regclass('only_in_a')::text")).toBeNull();

    await a.drop();
    await b.drop();
    await a.drop(); // idempotent
    const left = await scalar<number>(
      testDbInfo().adminUrl,
      `SELECT count(*)::int FROM pg_database WHERE datname IN ('${a.name}', '${b.name}')`,
    );
    expect(left).toBe(0);
  });

  it("exposes a lazily created Prisma client that drop() disconnects", async () => {
    const t = await createTestDatabase();
    try {
      if (testDbInfo().migrations.length > 0) {
        expect(await t.prisma.$queryRawUnsafe<{ one: number }[]>("SELECT 1::int AS one")).toEqual([{ one: 1 }]);
      }
    } finally {
      await t.drop();
    }
    expect(() => t.prisma).toThrow(/dropped/);
  });
});

describe("guard against non-local database servers", () => {
  it("recognises local URLs", () => {
    expect(isLocalDatabaseUrl("postgresql://u:p@127.0.0.1:5432/x")).toBe(true);
    expect(isLocalDatabaseUrl("postgresql://u:p@localhost/x")).toBe(true);
    expect(isLocalDatabaseUrl("postgresql://u:p@[::1]:5432/x")).toBe(true);
    expect(isLocalDatabaseUrl("postgresql://u@localhost/x?host=/var/run/postgresql")).toBe(true);
    expect(isLocalDatabaseUrl("postgresql://u:p@db.example.com/x")).toBe(false);
    expect(isLocalDatabaseUrl("postgresql://u:p@localhost/x?host=db.example.com")).toBe(false);
  });

  it("refuses a remote server unless explicitly allowed, without printing the password", () => {
    const prev = process.env.GATEHOUSE_TEST_ALLOW_REMOTE_DB;
    try {
      delete process.env.GATEHOUSE_TEST_ALLOW_REMOTE_DB;
      expect(() => assertLocalDatabaseUrl("postgresql://u:secret@db.example.com/x")).toThrow(/Refusing.*db\.example\.com/);
      expect(() => assertLocalDatabaseUrl("postgresql://u:secret@db.example.com/x")).not.toThrow(/secret/);
      process.env.GATEHOUSE_TEST_ALLOW_REMOTE_DB = "1";
      expect(() => assertLocalDatabaseUrl("postgresql://u:secret@db.example.com/x")).not.toThrow();
    } finally {
      if (prev === undefined) delete process.env.GATEHOUSE_TEST_ALLOW_REMOTE_DB;
      else process.env.GATEHOUSE_TEST_ALLOW_REMOTE_DB = prev;
    }
  });
});

describe("ensureEmbeddedPostgres", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => fsp.rm(d, { recursive: true, force: true })));
  });

  it("initialises once, reuses a server already running on the data dir, and restarts from disk", async () => {
    const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), "gatehouse-embedded-test-"));
    dirs.push(dataDir);
    const first = await ensureEmbeddedPostgres({ dataDir, ephemeral: true });
    expect(first.startedHere).toBe(true);
    expect(first.url).toMatch(/^postgresql:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/gatehouse$/);
    await scalar(first.url, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)");

    // Another caller while it runs: same server, not stopped by that caller.
    const second = await ensureEmbeddedPostgres({ dataDir });
    expect(second.startedHere).toBe(false);
    expect(second.url).toBe(first.url);
    await second.stop();
    expect(await scalar<number>(first.url, "SELECT v FROM kept")).toBe(42);

    // The password is persisted privately in the data dir.
    const state = JSON.parse(await fsp.readFile(path.join(dataDir, "state.json"), "utf8"));
    expect(first.url).toContain(encodeURIComponent(state.password));
    expect((await fsp.stat(path.join(dataDir, "state.json"))).mode & 0o077).toBe(0);

    await first.stop();
    await expect(scalar(first.url, "SELECT 1")).rejects.toThrow();

    // Restart from the same data dir: data kept.
    const third = await ensureEmbeddedPostgres({ dataDir, ephemeral: true });
    try {
      expect(third.startedHere).toBe(true);
      expect(await scalar<number>(third.url, "SELECT v FROM kept")).toBe(42);
    } finally {
      await third.stop();
    }
  });
});
