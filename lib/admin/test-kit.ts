// Test-only: the admin API over HTTP against a real PostgreSQL and the live engine, for the
// integration tests of lib/admin (a world applied, one token per user, helpers to prove a refused
// change changed nothing). Imported only by *.int.test.ts files.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { expect } from "vitest";
import { createTestDatabase, type TestDatabase } from "@/lib/test/db";
import { applyWorld } from "@/lib/world/apply";
import { parseWorld } from "@/lib/world/parse";
import { worldCatalog } from "@/lib/world/catalog";
import { issueIdTokenForPrincipal } from "@/lib/identity/id-token";
import { hotPathServer, startDecisionStack, type DecisionStack } from "@/lib/decide/stack";
import { holds } from "./authz";

export const PUBLIC_URL = "http://gatehouse.test";

export interface ApiAnswer {
  status: number;
  headers: Headers;
  body: Record<string, unknown> & { error?: { code: string; message: string; details?: Array<{ path?: string; message: string }> } };
}

export interface AdminTestStack {
  t: TestDatabase;
  stack: DecisionStack;
  /** Calls the admin API as `who` (a key of the users given, or null for no credential); waits for the engine to apply a write. */
  api(who: string | null, method: string, p: string, body?: unknown): Promise<ApiAnswer>;
  revision(): Promise<bigint>;
  auditCount(): Promise<number>;
  /** The newest admin-activity record. */
  lastAudit(): Promise<{ methodName: string; serviceName: string; resourceName: string; actor: string; request: unknown; response: unknown; revision: bigint | null }>;
  /** Whether `principal` holds `permission` on `resource` in the engine's current snapshot. */
  holds(principal: string, permission: string, resource: string): boolean;
  /**
   * Runs `fn` and checks that it changed nothing: the revision, the number of admin-activity
   * records and whatever `rows` reads are the same after.
   */
  changesNothing<T>(fn: () => Promise<T>, rows?: () => Promise<unknown>): Promise<T>;
  close(): Promise<void>;
}

/** `users` are local parts on `domain`; each gets a Gatehouse ID token for the admin API. */
export async function startAdminTestStack(world: object, users: readonly string[], domain = "acme.test"): Promise<AdminTestStack> {
  const t = await createTestDatabase();
  await applyWorld(t.prisma, parseWorld(JSON.stringify(world)), { actor: "test", catalog: worldCatalog() });
  const stack = await startDecisionStack({
    prisma: t.prisma,
    databaseUrl: t.url,
    publicUrl: PUBLIC_URL,
    authSecret: "test-only-auth-secret-0123456789abcdef",
    bootstrapAdmins: [],
    spoolDir: fs.mkdtempSync(path.join(os.tmpdir(), "gh-admin-kit-")),
  });
  const server: Server = hotPathServer(stack.ctx);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tokens: Record<string, string> = {};
  for (const u of users) tokens[u] = (await issueIdTokenForPrincipal(t.prisma, stack.ctx.ring, { principal: `user:${u}@${domain}`, audience: PUBLIC_URL })).token;

  const revision = async () => (await t.prisma.policyRevision.findUniqueOrThrow({ where: { id: 1 } })).value;
  const auditCount = () => t.prisma.adminActivityLog.count();
  return {
    t,
    stack,
    async api(who, method, p, body) {
      const res = await fetch(`${base}${p}`, {
        method,
        headers: { "content-type": "application/json", ...(who ? { authorization: `Bearer ${tokens[who]}` } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const rev = res.headers.get("x-gatehouse-revision");
      if (rev) expect(await stack.ctx.engine.waitFor(BigInt(rev), 5000)).toBe(true);
      return { status: res.status, headers: res.headers, body: (await res.json()) as ApiAnswer["body"] };
    },
    revision,
    auditCount,
    async lastAudit() {
      return t.prisma.adminActivityLog.findFirstOrThrow({ orderBy: { seq: "desc" } });
    },
    holds(principal, permission, resource) {
      return holds(stack.ctx.engine.current().snapshot, principal, permission, resource, new Date());
    },
    async changesNothing(fn, rows) {
      const before = JSON.stringify([await revision(), await auditCount(), rows ? await rows() : null], (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
      const r = await fn();
      const after = JSON.stringify([await revision(), await auditCount(), rows ? await rows() : null], (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
      expect(after, "a refused change changed something").toBe(before);
      return r;
    },
    async close() {
      await new Promise((r) => server.close(r));
      await stack.stop();
      await t.drop();
    },
  };
}

/** Expects a refusal: `status` and `code`, and (when given) a message containing `says`. */
export function expectError(r: ApiAnswer, status: number, code: string, says?: string | RegExp): void {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.body.error?.code).toBe(code);
  if (says !== undefined) expect(r.body.error?.message).toMatch(says);
}
