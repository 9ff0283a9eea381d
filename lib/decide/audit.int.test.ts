// The decision endpoints' audit guarantees over HTTP, against a real PostgreSQL: every call —
// answered or refused — leaves exactly one data-access record; with PostgreSQL down and the disk
// full they answer 503 rather than answer unrecorded, and /healthz and /metrics say so; nothing
// queued is lost and they resume once the log can be written.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createTestDatabase, type TestDatabase } from "@/lib/test/db";
import { applyWorld } from "@/lib/world/apply";
import { parseWorld } from "@/lib/world/parse";
import { worldCatalog } from "@/lib/world/catalog";
import { DEMO_WORLD_FILE } from "@/lib/admin/seed";
import { createProxyKey } from "@/lib/admin/proxy-keys";
import { SYSTEM_CLI } from "@/lib/admin/context";
import { verifyDataAccess } from "@/lib/audit/verify";
import { freePort, spawnProc, stopAll, waitFor } from "@/lib/proxytest/procs";
import { hotPathServer, startDecisionStack, type DecisionStack } from "./stack";

let t: TestDatabase;
let stack: DecisionStack;
let server: Server;
let base: string;
let spoolDir: string;
let trustedKey: string;
let plainKey: string;
let scopedKey: string;
const reports: string[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  await applyWorld(t.prisma, parseWorld(fs.readFileSync(DEMO_WORLD_FILE, "utf8")), { actor: "test", catalog: worldCatalog() });
  const key = (o: { name: string; trusted: boolean; scopes?: string[] }) => createProxyKey({ db: t.prisma, actor: SYSTEM_CLI }, o).then((k) => k.secret);
  trustedKey = await key({ name: "trusted", trusted: true });
  plainKey = await key({ name: "plain", trusted: false });
  scopedKey = await key({ name: "scoped", trusted: true, scopes: ["projects/payments"] });
  spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), "gh-audit-"));
  stack = await startDecisionStack({
    prisma: t.prisma,
    databaseUrl: t.url,
    publicUrl: "http://gatehouse.test",
    authSecret: "test-only-auth-secret-0123456789abcdef",
    bootstrapAdmins: [],
    spoolDir,
    log: (m) => reports.push(m),
  });
  server = hotPathServer(stack.ctx);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await stopAll();
  await new Promise((r) => server.close(r));
  await stack.stop();
  await t.drop();
  fs.rmSync(spoolDir, { recursive: true, force: true });
});
afterEach(() => vi.restoreAllMocks());

async function call(pathname: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  const res = await fetch(base + pathname, { method: init.method ?? "POST", headers: { "content-type": "application/json", ...init.headers }, ...(init.body !== undefined ? { body: init.body } : {}) });
  return { status: res.status, id: res.headers.get("x-gatehouse-decision-id"), text: await res.text() };
}
const bearerOf = (k: string) => ({ authorization: `Bearer ${k}` });

/** The records written since `since` (flushes first). */
async function recordsSince(since: bigint) {
  await stack.ctx.log.flush();
  return t.prisma.dataAccessLog.findMany({ where: { seq: { gt: since } }, orderBy: { seq: "asc" } });
}
async function lastSeq(): Promise<bigint> {
  await stack.ctx.log.flush();
  return (await t.prisma.dataAccessLog.aggregate({ _max: { seq: true } }))._max.seq ?? 0n;
}

describe("refused calls at the decision API and forward-auth", () => {
  const refusals: [string, () => ReturnType<typeof call>, number, string, string | null][] = [
    ["no proxy credential", () => call("/api/v1/decisions", { body: "{}" }), 401, "REFUSED_UNAUTHENTICATED", null],
    ["an unknown proxy credential", () => call("/api/v1/decisions", { headers: bearerOf("gh_nope"), body: "{}" }), 401, "REFUSED_UNAUTHENTICATED", null],
    [
      "an untrusted credential asserting a principal",
      () => call("/api/v1/decisions", { headers: bearerOf(plainKey), body: JSON.stringify({ principal: "user:alice@example.com", resource: "projects/demo" }) }),
      403,
      "REFUSED_PERMISSION_DENIED",
      null,
    ],
    [
      "an out-of-scope question (the trusted assertion is kept)",
      () => call("/api/v1/decisions", { headers: bearerOf(scopedKey), body: JSON.stringify({ principal: "user:alice@example.com", resource: "projects/demo" }) }),
      403,
      "REFUSED_PERMISSION_DENIED",
      "user:alice@example.com",
    ],
    ["a body that is not JSON", () => call("/api/v1/decisions", { headers: bearerOf(trustedKey), body: "{not json" }), 400, "REFUSED_INVALID_ARGUMENT", null],
    ["an unknown field", () => call("/api/v1/decisions", { headers: bearerOf(trustedKey), body: JSON.stringify({ resource: "projects/demo", admin: true }) }), 400, "REFUSED_INVALID_ARGUMENT", null],
    ["an oversized body", () => call("/api/v1/decisions", { headers: bearerOf(trustedKey), body: JSON.stringify({ resource: "x".repeat(70_000) }) }), 413, "REFUSED_PAYLOAD_TOO_LARGE", null],
    ["the wrong method", () => call("/api/v1/decisions", { method: "GET", headers: bearerOf(trustedKey) }), 405, "REFUSED_METHOD_NOT_ALLOWED", null],
    ["forward-auth without a credential", () => call("/api/v1/forward-auth", { method: "GET", headers: { "x-forwarded-host": "web.example.test" } }), 401, "REFUSED_UNAUTHENTICATED", null],
    [
      "forward-auth with a URI no request line has",
      () => call("/api/v1/forward-auth", { method: "GET", headers: { "x-gatehouse-proxy-key": plainKey, "x-forwarded-host": "web.example.test", "x-original-uri": "/a#b" } }),
      400,
      "REFUSED_INVALID_ARGUMENT",
      null,
    ],
  ];
  for (const [what, send, status, reason, principal] of refusals) {
    it(`${what}: ${status}, and exactly one record saying so`, async () => {
      const since = await lastSeq();
      const r = await send();
      expect(r.status).toBe(status);
      const rows = await recordsSince(since);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ granted: false, reason, principal, decisionId: r.id });
      expect(rows[0]!.status).toMatchObject({ message: expect.any(String) });
    });
  }

  it("a batch records each refused check once, next to the answered ones", async () => {
    const since = await lastSeq();
    const checks = [{ principal: "user:alice@example.com", resource: "projects/demo" }, { principal: "not-a-principal", resource: "projects/demo" }, { resource: "projects/demo", bogus: 1 }];
    const r = await call("/api/v1/decisions:batch", { headers: bearerOf(trustedKey), body: JSON.stringify({ checks }) });
    expect(r.status).toBe(200);
    const rows = await recordsSince(since);
    expect(rows.map((x) => x.reason)).toEqual([expect.not.stringMatching(/^REFUSED_/), "REFUSED_INVALID_ARGUMENT", "REFUSED_INVALID_ARGUMENT"]);
    expect(await verifyDataAccess(t.prisma)).toMatchObject({ ok: true });
  });

  it("/metrics counts records without a credential and names no secret, host or principal", async () => {
    const r = await call("/metrics", { method: "GET" });
    expect(r.status).toBe(200);
    expect(r.text).toMatch(/^gatehouse_audit_records_written_total \d+$/m);
    expect(r.text).toMatch(/^gatehouse_audit_records_dropped_total 0$/m);
    expect(r.text).toMatch(/^gatehouse_audit_accepting 1$/m);
    expect(r.text).not.toMatch(/example\.com|example\.test|postgres|Bearer/);
    expect((await call("/metrics", { method: "POST" })).status).toBe(405);
  });
});

describe("PostgreSQL down and the disk full", () => {
  it("fails closed (503, health and metrics say so), loses nothing, and resumes when the disk is writable again", async () => {
    const log = stack.ctx.log;
    const since = await lastSeq();
    await t.prisma.$executeRawUnsafe(`CREATE OR REPLACE FUNCTION gh_block() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'database unavailable'; END $$ LANGUAGE plpgsql`);
    await t.prisma.$executeRawUnsafe(`CREATE TRIGGER gh_block BEFORE INSERT ON "DataAccessLog" FOR EACH STATEMENT EXECUTE FUNCTION gh_block()`);
    const real = fs.writeSync.bind(fs) as (fd: number, data: string) => number;
    const full = vi.spyOn(fs, "writeSync").mockImplementation(((fd: number, data: string) => {
      if (typeof data === "string" && fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(spoolDir)) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
      return real(fd, data);
    }) as typeof fs.writeSync);
    const decide = () => call("/api/v1/decisions", { headers: bearerOf(trustedKey), body: JSON.stringify({ principal: "user:alice@example.com", resource: "projects/demo" }) });

    // Answered while nothing has failed yet. The log's own 100 ms flush may fail between two of
    // these on a loaded machine: from then on decisions are refused (what is checked below).
    const answered: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await decide();
      if (i > 0 && r.status === 503) break;
      expect(r.status).toBe(200);
      answered.push((JSON.parse(r.text) as { decisionId: string }).decisionId);
    }
    await log.flush();
    expect(log.accepting()).toBe(false);
    expect(await decide()).toMatchObject({ status: 503, id: null });
    expect((await call("/api/v1/forward-auth", { method: "GET", headers: { "x-gatehouse-proxy-key": plainKey, "x-forwarded-host": "web.example.test" } })).status).toBe(503);
    const health = await call("/healthz", { method: "GET" });
    expect(health.status).toBe(503);
    expect(JSON.parse(health.text)).toMatchObject({ status: "audit_unavailable", audit: { pending: answered.length, spoolFailing: true, dropped: 0 } });
    expect((await call("/metrics", { method: "GET" })).text).toMatch(/^gatehouse_audit_accepting 0$/m);
    expect(reports.join("\n")).toMatch(/audit: cannot write the audit spool.*fail closed/);

    full.mockRestore();
    await log.flush();
    expect(log.accepting()).toBe(true);
    const after = await decide();
    expect(after.status).toBe(200);
    answered.push((JSON.parse(after.text) as { decisionId: string }).decisionId);
    await t.prisma.$executeRawUnsafe(`DROP TRIGGER gh_block ON "DataAccessLog"`);
    await log.flush();
    await log.flush();
    expect((await recordsSince(since)).map((r) => r.decisionId)).toEqual(answered);
    expect(log.getStats()).toMatchObject({ dropped: 0, pending: 0 });
    expect(JSON.parse((await call("/healthz", { method: "GET" })).text)).toMatchObject({ status: "ok" });
    expect(await verifyDataAccess(t.prisma)).toMatchObject({ ok: true });
  });
});

describe("SIGTERM under load", () => {
  it("every answered decision is in the database after the server stops (in flight ones included)", async () => {
    const port = await freePort();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "gh-sigterm-"));
    const ROOT = path.resolve(import.meta.dirname, "../..");
    const proc = spawnProc("gatehouse", process.execPath, ["--import", "tsx", path.join(ROOT, "lib/server/main.ts"), "--api-only"], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: "production", PORT: String(port), HOSTNAME: "127.0.0.1", DATABASE_URL: t.url, AUTH_SECRET: "sigterm-test-auth-secret-0123456789abcdef", GATEHOUSE_DATA_DIR: dataDir },
    });
    try {
      await waitFor("the start-up banner", () => / ready in /.test(proc.output()), { proc, timeoutMs: 90_000, intervalMs: 100 });
      const since = await lastSeq();
      const answered: string[] = [];
      let stopping = false;
      const loop = async () => {
        for (;;) {
          try {
            const res = await fetch(`http://127.0.0.1:${port}/api/v1/decisions`, {
              method: "POST",
              headers: { "content-type": "application/json", ...bearerOf(trustedKey) },
              body: JSON.stringify({ principal: "user:alice@example.com", resource: "projects/demo" }),
            });
            const body = (await res.json()) as { decisionId?: string };
            if (res.status === 200 && body.decisionId) answered.push(body.decisionId);
          } catch {
            if (stopping) return; // the server has gone
          }
        }
      };
      const loops = Array.from({ length: 16 }, loop);
      await waitFor("some load", () => answered.length > 300, { proc, timeoutMs: 30_000, intervalMs: 20 });
      stopping = true;
      await proc.stop(30_000);
      await Promise.all(loops);
      expect(proc.output()).toMatch(/SIGTERM: stopping Gatehouse/);
      const spool = path.join(dataDir, "spool", "data-access.ndjson");
      const spooled = fs.existsSync(spool) ? fs.readFileSync(spool, "utf8").trim().split("\n").map((l) => (JSON.parse(l) as { decisionId: string }).decisionId) : [];
      const stored = new Set([...(await recordsSince(since)).map((r) => r.decisionId), ...spooled]);
      expect(answered.filter((id) => !stored.has(id))).toEqual([]);
      expect(answered.length).toBeGreaterThan(300);
    } finally {
      await proc.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
