/**
 * An admin API under test: a fresh database loaded with a world file, one instance's stack (the
 * live engine, keys, verifier) behind a node:http server, and helpers to call the API as a
 * principal (a Gatehouse ID token for GATEHOUSE_PUBLIC_URL) and to check that a refused call
 * changed nothing.
 *
 *   const a = await startAdminStack(WORLD);
 *   const r = await a.api("owner@acme.test", "POST", "/api/v1/projects", { … });
 *   await a.unchanged(() => a.api("bob@acme.test", "POST", …), 403);
 *   afterAll(() => a.stop());
 *
 * After a write `api` waits until the engine has applied the revision it answered with (as a
 * caller would with minRevision), so the next call is authorised on the state it just made.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { expect } from "vitest";
import { createTestDatabase, type TestDatabase } from "./db";
import { applyWorld } from "@/lib/world/apply";
import { parseWorld } from "@/lib/world/parse";
import { worldCatalog } from "@/lib/world/catalog";
import { issueIdTokenForPrincipal } from "@/lib/identity/id-token";
import { hotPathServer, startDecisionStack, type DecisionStack } from "@/lib/decide/stack";
import { holds } from "@/lib/admin/authz";

export const TEST_PUBLIC_URL = "http://gatehouse.test";
export const TEST_AUTH_SECRET = "test-only-auth-secret-0123456789abcdef";

export interface ApiAnswer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are inspected freely in tests
  body: any;
}

export interface AdminStack {
  t: TestDatabase;
  stack: DecisionStack;
  base: string;
  /** Calls the admin API as `who` (an email: user or service account; null: no credential). */
  api(who: string | null, method: string, path: string, body?: unknown): Promise<ApiAnswer>;
  /** The database's revision. */
  revision(): Promise<bigint>;
  /**
   * Runs `call`, expects `status` (and `code`), and that nothing changed: the revision, the
   * admin-activity log, and every row an admin method writes.
   */
  unchanged(call: () => Promise<ApiAnswer>, status: number, code?: string): Promise<ApiAnswer>;
  /** Runs `call` (a write), expects `status`, and exactly one admin-activity record at the revision it answered. */
  oneRecord(call: () => Promise<ApiAnswer>, status?: number): Promise<ApiAnswer>;
  stop(): Promise<void>;
}

export async function startAdminStack(world: object, opts: { bootstrapAdmins?: string[] } = {}): Promise<AdminStack> {
  const t = await createTestDatabase();
  await applyWorld(t.prisma, parseWorld(JSON.stringify(world)), { actor: "test", catalog: worldCatalog() });
  const stack = await startDecisionStack({
    prisma: t.prisma,
    databaseUrl: t.url,
    publicUrl: TEST_PUBLIC_URL,
    authSecret: TEST_AUTH_SECRET,
    bootstrapAdmins: opts.bootstrapAdmins ?? [],
    spoolDir: fs.mkdtempSync(path.join(os.tmpdir(), "gh-admin-")),
  });
  const server: Server = hotPathServer(stack.ctx);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tokens = new Map<string, string>();

  const token = async (who: string) => {
    let tok = tokens.get(who);
    if (!tok) {
      const principal = who.endsWith(".gserviceaccount.com") ? `serviceAccount:${who}` : `user:${who}`;
      tok = (await issueIdTokenForPrincipal(t.prisma, stack.ctx.ring, { principal, audience: TEST_PUBLIC_URL })).token;
      tokens.set(who, tok);
    }
    return tok;
  };

  const revision = async () => (await t.prisma.policyRevision.findUnique({ where: { id: 1 } }))?.value ?? 0n;

  const api = async (who: string | null, method: string, p: string, body?: unknown): Promise<ApiAnswer> => {
    const res = await fetch(`${base}${p}`, {
      method,
      headers: who ? { authorization: `Bearer ${await token(who)}` } : {},
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    const rev = res.headers.get("x-gatehouse-revision");
    if (rev) await stack.ctx.engine.waitFor(BigInt(rev), 5000);
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
  };

  const fingerprint = async () =>
    JSON.stringify(
      await Promise.all([
        revision(),
        t.prisma.adminActivityLog.count(),
        t.prisma.node.findMany({ orderBy: { name: "asc" }, select: { name: true, parentName: true, displayName: true, domain: true, projectNumber: true, iapEnabled: true, hosts: true, pathPrefix: true, oauthClientId: true, implicit: true } }),
        t.prisma.principal.findMany({ orderBy: { email: "asc" }, select: { email: true, displayName: true, description: true, disabled: true } }),
        t.prisma.user.findMany({ orderBy: { email: "asc" }, select: { email: true, name: true, passwordHash: true, sessionsValidAfter: true } }),
        t.prisma.instanceOwner.findMany({ orderBy: { email: "asc" } }),
        t.prisma.serviceAccountKey.findMany({ orderBy: { id: "asc" }, select: { id: true, disabled: true } }),
        t.prisma.trustedIssuer.findMany({ orderBy: { issuer: "asc" }, select: { issuer: true, audiences: true, domains: true, jwksUri: true, allowUnverifiedEmails: true } }),
        t.prisma.signingKey.findMany({ orderBy: { kid: "asc" }, select: { kid: true, state: true, activatedAt: true } }),
        t.prisma.bindingMember.findMany({ orderBy: [{ bindingId: "asc" }, { member: "asc" }], select: { member: true, binding: { select: { role: true, policyResourceName: true } } } }),
        t.prisma.groupMember.findMany({ orderBy: [{ groupEmail: "asc" }, { member: "asc" }] }),
      ]),
      (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v),
    );

  return {
    t,
    stack,
    base,
    api,
    revision,
    async unchanged(call, status, code) {
      await stack.ctx.engine.waitFor(await revision(), 5000);
      const before = await fingerprint();
      const r = await call();
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      if (code) expect(r.body?.error?.code, JSON.stringify(r.body)).toBe(code);
      expect(await fingerprint(), "a refused call changed something").toBe(before);
      return r;
    },
    async oneRecord(call, status = 200) {
      const count = await t.prisma.adminActivityLog.count();
      const r = await call();
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      const rev = r.headers.get("x-gatehouse-revision");
      expect(rev, "a change answers with its revision").not.toBeNull();
      expect(await t.prisma.adminActivityLog.count()).toBe(count + 1);
      expect(await t.prisma.adminActivityLog.count({ where: { revision: BigInt(rev!) } })).toBe(1);
      return r;
    },
    async stop() {
      await new Promise((r) => server.close(r));
      await stack.stop();
      await t.drop();
    },
  };
}

/**
 * The same stack, addressed by local parts on one domain ("owner" → owner@acme.test), with the
 * helpers the identity tests use: whether the live engine grants something, the newest audit
 * record, and a no-change check over a chosen read.
 */
export interface AdminTestStack {
  t: TestDatabase;
  stack: DecisionStack;
  api(who: string | null, method: string, p: string, body?: unknown): Promise<ApiAnswer>;
  revision(): Promise<bigint>;
  auditCount(): Promise<number>;
  lastAudit(): Promise<{ methodName: string; serviceName: string; resourceName: string; actor: string; request: unknown; response: unknown; revision: bigint | null }>;
  /** Whether `principal` holds `permission` on `resource` in the engine's current snapshot. */
  holds(principal: string, permission: string, resource: string): boolean;
  /** Runs `fn` and checks that the revision, the audit log and whatever `rows` reads are unchanged. */
  changesNothing<T>(fn: () => Promise<T>, rows?: () => Promise<unknown>): Promise<T>;
  /** A refused change: `status` and `code` (and a message matching `says`), and nothing written (changesNothing over `rows`). */
  refused(rows: () => Promise<unknown>, fn: () => Promise<ApiAnswer>, status: number, code: string, says?: string | RegExp): Promise<ApiAnswer>;
  /** A change that must leave exactly one admin-activity record; the answer and that record. */
  oneRecord(fn: () => Promise<ApiAnswer>, status: number): Promise<{ r: ApiAnswer; audit: Awaited<ReturnType<AdminTestStack["lastAudit"]>> }>;
  close(): Promise<void>;
}

export async function startAdminTestStack(world: object, _users: readonly string[], domain = "acme.test"): Promise<AdminTestStack> {
  const a = await startAdminStack(world);
  const { t, stack } = a;
  const auditCount = () => t.prisma.adminActivityLog.count();
  const seen = async (rows?: () => Promise<unknown>) =>
    JSON.stringify([await a.revision(), await auditCount(), rows ? await rows() : null], (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  return {
    t,
    stack,
    api: (who, method, p, body) => a.api(who === null ? null : `${who}@${domain}`, method, p, body),
    revision: a.revision,
    auditCount,
    lastAudit: () => t.prisma.adminActivityLog.findFirstOrThrow({ orderBy: { seq: "desc" } }),
    holds: (principal, permission, resource) => holds(stack.ctx.engine.current().snapshot, principal, permission, resource, new Date()),
    async changesNothing(fn, rows) {
      const before = await seen(rows);
      const r = await fn();
      expect(await seen(rows), "a refused change changed something").toBe(before);
      return r;
    },
    async refused(rows, fn, status, code, says) {
      const before = await seen(rows);
      const r = await fn();
      expect(await seen(rows), "a refused change changed something").toBe(before);
      expectError(r, status, code, says);
      return r;
    },
    async oneRecord(fn, status) {
      const before = await auditCount();
      const r = await fn();
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      expect(await auditCount()).toBe(before + 1);
      return { r, audit: await t.prisma.adminActivityLog.findFirstOrThrow({ orderBy: { seq: "desc" } }) };
    },
    close: () => a.stop(),
  };
}

/** Expects a refusal: `status` and `code`, and (when given) a message containing `says`. */
export function expectError(r: ApiAnswer, status: number, code: string, says?: string | RegExp): void {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.body?.error?.code).toBe(code);
  if (says !== undefined) expect(r.body?.error?.message).toMatch(says);
}
